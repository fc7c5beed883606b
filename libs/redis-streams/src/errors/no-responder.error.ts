/** `send()` named a stream that no consumer group reads, so no server could ever answer the request. */
export class NoResponderError extends Error {
  override readonly name = 'NoResponderError';

  constructor(
    readonly pattern: string,
    readonly key: string,
  ) {
    super(
      `No server handles send('${pattern}'): stream "${key}" has no consumer group. Start a microservice with ` +
        `@MessagePattern('${pattern}') on the same Redis and keyPrefix before sending.`,
    );
  }
}
