import { mergeById } from './merge-by-id.js';

async function* source(ids: string[], log: string[], name: string): AsyncGenerator<{ id: string }> {
  try {
    for (const id of ids) yield await Promise.resolve({ id });
  } finally {
    log.push(`${name} closed`);
  }
}

async function collect(iterable: AsyncIterable<{ id: string }>, limit = Infinity): Promise<string[]> {
  const ids: string[] = [];
  for await (const { id } of iterable) {
    if (ids.length >= limit) break;
    ids.push(id);
  }
  return ids;
}

describe('merging stream keys by id', () => {
  it('interleaves several keys in id order, oldest or newest first', async () => {
    const log: string[] = [];
    const forward = mergeById(
      [source(['1-0', '5-0', '10-0'], log, 'a'), source(['2-0', '5-1'], log, 'b'), source([], log, 'c')],
      false,
    );
    expect(await collect(forward)).toEqual(['1-0', '2-0', '5-0', '5-1', '10-0']);
    const backward = mergeById([source(['10-0', '5-0', '1-0'], log, 'a'), source(['5-1', '2-0'], log, 'b')], true);
    expect(await collect(backward)).toEqual(['10-0', '5-1', '5-0', '2-0', '1-0']);
  });

  it('puts equal ids in source order, and in reverse source order when reading newest first', async () => {
    const log: string[] = [];
    const tagged = (ids: string[], tag: string) =>
      (async function* () {
        for await (const { id } of source(ids, log, tag)) yield { id, tag };
      })();
    const order = async (reverse: boolean) => {
      const tags: string[] = [];
      const ids = reverse ? ['2-0', '1-0'] : ['1-0', '2-0'];
      const merged = mergeById([tagged(ids, 'a'), tagged(ids, 'b'), tagged(ids, 'c')], reverse);
      for await (const { id, tag } of merged) tags.push(`${id}${tag}`);
      return tags;
    };
    expect(await order(false)).toEqual(['1-0a', '1-0b', '1-0c', '2-0a', '2-0b', '2-0c']);
    expect(await order(true)).toEqual(['2-0c', '2-0b', '2-0a', '1-0c', '1-0b', '1-0a']);
  });

  it('closes the sources when the reader stops early', async () => {
    const log: string[] = [];
    const merged = mergeById([source(['1-0', '3-0'], log, 'a'), source(['2-0', '4-0'], log, 'b')], false);
    expect(await collect(merged, 2)).toEqual(['1-0', '2-0']);
    expect(log.sort()).toEqual(['a closed', 'b closed']);
  });
});
