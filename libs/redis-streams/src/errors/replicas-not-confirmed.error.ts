/**
 * Fewer replicas than `durability.replicas` confirmed an emit within `durability.timeout`, or whether they did is
 * unknown (the connection that wrote the entry failed or closed before its WAIT answered): it may be lost.
 */
export class ReplicasNotConfirmedError extends Error {
  override readonly name = 'ReplicasNotConfirmedError';

  /**
   * @param cause Set when the confirmation was lost rather than refused (a connection closed, WAIT failed).
   */
  constructor(
    readonly stream: string,
    readonly id: string,
    readonly confirmed: number,
    readonly wanted: number,
    readonly timeout: number,
    cause?: Error,
  ) {
    super(messageOf(stream, id, confirmed, wanted, timeout, cause), cause === undefined ? undefined : { cause });
  }
}

function messageOf(
  stream: string,
  id: string,
  confirmed: number,
  wanted: number,
  timeout: number,
  cause: Error | undefined,
): string {
  const again =
    'Emit it again (consumers may then see it twice), or check the replicas; lower `durability.replicas` or raise ' +
    '`durability.timeout` if intended.';
  if (cause === undefined) {
    return (
      `Entry ${id} of stream "${stream}" is stored on its master, but only ${confirmed} of ${wanted} replicas ` +
      `confirmed it within ${timeout} ms (WAIT): a failover now could lose it. ${again}`
    );
  }
  return (
    `Entry ${id} of stream "${stream}" is stored on its master, but whether ${wanted} replicas have it is unknown: the connection it was written on failed before ` +
    `WAIT answered (${cause.message}); a failover now could lose it. ${again}`
  );
}
