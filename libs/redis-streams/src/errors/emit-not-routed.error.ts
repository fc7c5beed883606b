/**
 * A durable emit on a cluster found no master that would take its XADD within the time it keeps re-routing (the
 * slot's owner kept moving, or the cluster was down): it was not stored.
 */
export class EmitNotRoutedError extends Error {
  override readonly name = 'EmitNotRoutedError';

  constructor(
    readonly key: string,
    readonly slot: number,
    readonly window: number,
    cause: unknown,
  ) {
    super(
      `No master of slot ${slot} took the durable emit to "${key}" within ${window} ms of re-routing (last answer: ` +
        `${cause instanceof Error ? cause.message : String(cause)}); it was not stored. Check the cluster's health ` +
        '(CLUSTER INFO) and emit it again.',
      { cause },
    );
  }
}
