/** A stream entry whose fields the deserializer could not turn into a payload. It goes to the dead-letter stream. */
export class UndecodableEntryError extends Error {
  override readonly name = 'UndecodableEntryError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
