import { sleep } from './handlers.js';

/** Resolves 'settled' if `work` settles within `ms`, else 'timed out' (the work goes on in the background). */
export async function within(ms: number, work: Promise<unknown>): Promise<'settled' | 'timed out'> {
  return Promise.race([
    work.then(
      () => 'settled' as const,
      () => 'settled' as const,
    ),
    sleep(ms).then(() => 'timed out' as const),
  ]);
}
