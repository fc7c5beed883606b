/** An emitted payload exceeds `maxPayloadBytes`; raise the option on both sides or send a reference instead. */
export class PayloadTooLargeError extends Error {
  override readonly name = 'PayloadTooLargeError';

  constructor(
    readonly stream: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(
      `Payload for stream "${stream}" is ${bytes} bytes, over the limit of ${limit} bytes. ` +
        'Raise `maxPayloadBytes` on the client and the server, or store the body elsewhere and send a reference.',
    );
  }
}
