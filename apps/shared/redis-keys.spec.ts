import { defaultDeadLetterKey, keySlot } from '../../libs/redis-streams/src/cluster/key-slot.js';
import { GROUPS, keys, type KeySpace, STREAMS } from './redis-keys.js';

describe('the apps’ Redis keys', () => {
  it('keep the names existing deployments have on one Redis', () => {
    const space: KeySpace = { prefix: 'app:', cluster: false };
    expect([
      keys.processed(space, GROUPS.bi, STREAMS.push),
      keys.sentMail(space),
      keys.sentMailCount(space),
      keys.biTotals(space, STREAMS.email),
      keys.biTotals(space, STREAMS.push),
      keys.biPerMinute(space, STREAMS.email),
      keys.deadLetters(space, STREAMS.email),
    ]).toEqual([
      'app:processed:BIGroup:Push',
      'app:sent:email',
      'app:sent:email:count',
      'app:bi:count',
      'app:bi:count',
      'app:bi:per-minute:Email',
      'app:Email:dead',
    ]);
  });

  it.each(['', 'app:', '{tenant}:'])(
    'put each key written with a stream’s acks in that stream’s slot on a cluster (prefix "%s")',
    (prefix) => {
      const space: KeySpace = { prefix, cluster: true };
      const written: [string, string[]][] = [
        [
          STREAMS.email,
          [
            keys.processed(space, GROUPS.email, STREAMS.email),
            keys.sentMail(space),
            keys.sentMailCount(space),
            keys.biTotals(space, STREAMS.email),
            keys.biPerMinute(space, STREAMS.email),
          ],
        ],
        [STREAMS.push, [keys.processed(space, GROUPS.bi, STREAMS.push), keys.biTotals(space, STREAMS.push)]],
      ];
      for (const [stream, list] of written) {
        for (const key of list) expect([key, keySlot(key)]).toEqual([key, keySlot(prefix + stream)]);
      }
      expect(keys.biTotals(space, STREAMS.email)).not.toBe(keys.biTotals(space, STREAMS.push));
      expect(keys.deadLetters(space, STREAMS.email)).toBe(defaultDeadLetterKey(prefix + STREAMS.email, true));
    },
  );

  it('name the keys by the stream on a cluster', () => {
    const space: KeySpace = { prefix: '', cluster: true };
    expect([keys.sentMail(space), keys.biTotals(space, STREAMS.push)]).toEqual([
      '{Email}:sent:email',
      '{Push}:bi:count',
    ]);
  });
});
