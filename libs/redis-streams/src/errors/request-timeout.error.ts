/** No reply to a `send()` arrived within `requestTimeout`: no server answered in time (slow, down, or not running). */
export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError';

  constructor(
    readonly pattern: string,
    readonly timeout: number,
  ) {
    super(
      `No reply to send('${pattern}') within ${timeout} ms. Check that a microservice with @MessagePattern('${pattern}') ` +
        'is running on the same Redis and keyPrefix, or raise the client option `requestTimeout` for slow handlers.',
    );
  }
}
