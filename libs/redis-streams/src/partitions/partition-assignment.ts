// Who should own which partition: computed alike by every member from the same list of live members, so every
// partition has exactly one intended owner whatever the counts. Rendezvous (highest-random-weight) hashing with bounded
// loads: each partition ranks the members by a hash of (member, partition) and goes to the first one in its ranking
// that still has room; the room is an even share (the first `count % members` members by name get one more). A member
// joining or leaving changes the rankings of no partition, so only the partitions whose owner must change for the
// shares to stay even move (close to the fewest possible), and the order in which members learned of each other
// doesn't matter.
import { createHash } from 'node:crypto';

/** The partitions (0 … count-1) each live member should own; every partition appears exactly once. */
export function assignPartitions(count: number, members: readonly string[]): Map<string, number[]> {
  const names = [...new Set(members)].sort();
  const owned = new Map<string, number[]>(names.map((name) => [name, []]));
  if (names.length === 0) return owned;
  const base = Math.floor(count / names.length);
  const extra = count % names.length;
  const room = new Map(names.map((name, index) => [name, base + (index < extra ? 1 : 0)]));
  // Every (member, partition) pair, strongest first: a partition goes to the first member in this order that still
  // has room, so each keeps its favourite unless that one is full of partitions that favour it more.
  const pairs: { name: string; partition: number; weight: number }[] = [];
  for (let partition = 0; partition < count; partition++)
    for (const name of names) pairs.push({ name, partition, weight: weight(name, partition) });
  pairs.sort((a, b) => b.weight - a.weight || a.partition - b.partition || (a.name < b.name ? -1 : 1));
  const taken = new Set<number>();
  for (const { name, partition } of pairs) {
    if (taken.has(partition) || owned.get(name)!.length >= room.get(name)!) continue;
    taken.add(partition);
    owned.get(name)!.push(partition);
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
