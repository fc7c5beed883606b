/** An option has a value the transport cannot work with; the message names the option and what to change. */
export class InvalidOptionsError extends Error {
  override readonly name = 'InvalidOptionsError';

  /** `where` names the options object when it isn't the constructor's, e.g. `@EventPattern('Email', …)`. */
  constructor(option: string, message: string, where?: string) {
    super(`Invalid option \`${option}\`${where ? ` of ${where}` : ''}: ${message}`);
  }
}
