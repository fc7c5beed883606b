// Who should own which partition: computed alike by every member from the same list of live members, so every
// partition has exactly one intended owner whatever the counts. Rendezvous (highest-random-weight) hashing with bounded
// loads: every (member, partition) pair gets a weight from a hash of both, and, strongest pair first, a partition goes
// to the member of the pair unless that member already has its even share (`count % members` members, the first to
// want one more, get one more). A member joining or leaving changes no pair's weight, so mostly the partitions whose
// owner must change for the shares to stay even move, and the order in which members learned of each other doesn't
// matter.
import { createHash } from 'node:crypto';

/** The partitions (0 … count-1) each live member should own; every partition appears exactly once. */
export function assignPartitions(count: number, members: readonly string[]): Map<string, number[]> {
  const names = [...new Set(members)].sort();
  const owned = new Map<string, number[]>(names.map((name) => [name, []]));
  if (names.length === 0) return owned;
  const base = Math.floor(count / names.length);
  // How many members get one more than `base`: the first ones to want one more, in the order below.
  let extra = count % names.length;
  const pairs: { name: string; partition: number; weight: number }[] = [];
  for (let partition = 0; partition < count; partition++)
    for (const name of names) pairs.push({ name, partition, weight: weight(name, partition) });
  pairs.sort((a, b) => b.weight - a.weight || a.partition - b.partition || (a.name < b.name ? -1 : 1));
  const taken = new Set<number>();
  for (const { name, partition } of pairs) {
    const mine = owned.get(name)!;
    if (taken.has(partition) || mine.length > base || (mine.length === base && extra === 0)) continue;
    if (mine.length === base) extra--;
    taken.add(partition);
    mine.push(partition);
  }
  for (const partitions of owned.values()) partitions.sort((a, b) => a - b);
  return owned;
}

/** The partitions `member` should own among `members` (itself counted even if the list missed it). */
export function partitionsOf(count: number, members: readonly string[], member: string): Set<number> {
  const all = members.includes(member) ? members : [...members, member];
  return new Set(assignPartitions(count, all).get(member));
}

function weight(member: string, partition: number): number {
  return createHash('sha1').update(`${partition}\n${member}`).digest().readUInt32BE(0);
}
