import { compareIds } from '../redis/stream-commands.js';

/**
 * Merges sources that each yield entries in id order into one sequence in id order (newest first when `reverse`),
 * holding one entry per source. This is how one name that covers several stream keys reads as one stream. Equal ids
 * (two streams number their entries each on its own) come in source order, reversed with `reverse`, so that a
 * reverse read is the exact mirror of a forward one.
 */
export async function* mergeById<T extends { id: string }>(
  sources: AsyncIterator<T>[],
  reverse: boolean,
): AsyncGenerator<T, void, undefined> {
  const heads = await Promise.all(sources.map((source) => source.next()));
  try {
    for (;;) {
      let pick = -1;
      for (let i = 0; i < heads.length; i++) {
        const head = heads[i];
        if (head.done) continue;
        if (pick === -1) pick = i;
        else {
          const order = compareIds(head.value.id, (heads[pick] as IteratorYieldResult<T>).value.id);
          if (reverse ? order >= 0 : order < 0) pick = i;
        }
      }
      if (pick === -1) return;
      yield (heads[pick] as IteratorYieldResult<T>).value;
      heads[pick] = await sources[pick].next();
    }
  } finally {
    // Stopped early (a `break`, a limit): let the sources that are not done end too.
    await Promise.all(sources.map(async (source, i) => (heads[i].done ? undefined : source.return?.())));
  }
}
