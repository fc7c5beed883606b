/** A failure the CLI reports as one line on stderr with a non-zero exit code (2: usage, 1: everything else). */
export class CliError extends Error {
  override readonly name = 'CliError';

  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}

/** A command line the CLI cannot understand; the message says what to change. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(`${message}\nRun \`nestjs-redis-streams --help\` for the commands and options.`, 2);
  }
}
