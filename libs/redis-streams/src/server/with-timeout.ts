/** Resolves `true` once `promise` settles, or `false` after `ms`; never rejects. */
export async function withTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = promise.then(
    () => true,
    () => true,
  );
  const outcome = await Promise.race([settled, expired]);
  clearTimeout(timer);
  return outcome;
}
