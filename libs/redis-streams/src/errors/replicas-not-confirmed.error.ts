/** Fewer replicas than `durability.replicas` confirmed an emit within `durability.timeout`: it may be lost. */
export class ReplicasNotConfirmedError extends Error {
  override readonly name = 'ReplicasNotConfirmedError';

  constructor(
    readonly stream: string,
    readonly id: string,
    readonly confirmed: number,
    readonly wanted: number,
    readonly timeout: number,
  ) {
    super(
      `Entry ${id} of stream "${stream}" is stored on its master, but only ${confirmed} of ${wanted} replicas ` +
        `confirmed it within ${timeout} ms (WAIT): a failover now could lose it. Emit it again (consumers may then ` +
        'see it twice), or check the replicas; lower `durability.replicas` or raise `durability.timeout` if intended.',
    );
  }
}
