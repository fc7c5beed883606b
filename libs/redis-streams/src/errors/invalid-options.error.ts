/** An option has a value the transport cannot work with; the message names the option and what to change. */
export class InvalidOptionsError extends Error {
  override readonly name = 'InvalidOptionsError';

  constructor(option: string, message: string) {
    super(`Invalid option \`${option}\`: ${message}`);
  }
}
