/** A stream asked about does not exist in Redis. */
export class StreamNotFoundError extends Error {
  override readonly name = 'StreamNotFoundError';

  constructor(
    readonly stream: string,
    readonly key: string,
  ) {
    super(
      `Stream "${stream}" does not exist (Redis key "${key}"). Check the stream name and the key prefix; ` +
        'a stream appears once something was added to it or a consumer group was created on it.',
    );
  }
}

/** A consumer group asked about does not exist on its stream. */
export class GroupNotFoundError extends Error {
  override readonly name = 'GroupNotFoundError';

  constructor(
    readonly stream: string,
    readonly key: string,
    readonly group: string,
  ) {
    super(
      `Consumer group "${group}" does not exist on stream "${stream}" (Redis key "${key}"). Check the group name; ` +
        'the server creates its groups when it starts listening.',
    );
  }
}
