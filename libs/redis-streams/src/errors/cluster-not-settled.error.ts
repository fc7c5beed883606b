/** A start-up step kept failing the way a Redis Cluster does while its topology changes, past `settleTimeout`. */
export class ClusterNotSettledError extends Error {
  override readonly name = 'ClusterNotSettledError';

  constructor(
    readonly step: string,
    readonly timeout: number,
    override readonly cause: Error,
  ) {
    super(
      `The Redis Cluster did not settle within ${timeout} ms while ${step}: ${cause.message}. Check that every slot ` +
        'is served by a reachable master (redis-cli --cluster check), or raise `connection.settleTimeout`.',
      { cause },
    );
  }
}
