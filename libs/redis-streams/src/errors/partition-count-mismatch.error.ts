/** A partitioned stream was configured with another partition count than the one recorded in Redis. */
export class PartitionCountMismatchError extends Error {
  override readonly name = 'PartitionCountMismatchError';

  /** `advice`: why it matters and what to change, where that differs from a producer's or consumer's. */
  constructor(
    readonly stream: string,
    readonly configured: number,
    readonly recorded: number,
    advice?: string,
  ) {
    super(
      `Stream "${stream}" is configured with ${configured} partitions, but Redis records ${recorded} for it: ` +
        (advice ??
          `the same key would go to another partition and lose its order. Set \`partitions: { '${stream}': ${recorded} }\` ` +
            'on every producer and consumer (changing the count needs the stream drained and its count key deleted).'),
    );
  }
}
