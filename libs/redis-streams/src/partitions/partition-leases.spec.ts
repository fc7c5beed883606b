import { fairShare } from './partition-leases.js';

describe('fair share of partitions', () => {
  it('splits the partitions evenly, the remainder going to the first members by name', () => {
    const members = ['a', 'b', 'c'];
    expect(members.map((m) => fairShare(8, members, m))).toEqual([3, 3, 2]);
    expect(members.map((m) => fairShare(2, members, m))).toEqual([1, 1, 0]);
    expect(fairShare(4, ['a'], 'a')).toBe(4);
  });

  it('gives nothing to an instance that is not (yet) a live member', () => {
    expect(fairShare(4, ['a', 'b'], 'c')).toBe(0);
    expect(fairShare(4, [], 'a')).toBe(0);
  });
});
