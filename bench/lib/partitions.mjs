// The bench's view of a partitioned stream on a cluster: its partitions' keys, a name that spreads them evenly over
// the masters, and who owns each partition in a group. Key names as the README documents them ("Partitioned streams").

export const partitionKeys = (stream, count) => Array.from({ length: count }, (_, p) => `${stream}:p${p}`);

/** The lease of a partition in a group (in the partition's slot), holding `<generation>:<owner's consumer name>`. */
const leaseKey = (key, group) => `{${key}}:lease:${group}`;
const ownerOf = (token) => (token === null ? null : token.slice(token.indexOf(':') + 1));

/** `base` with a suffix such that its `count` partitions spread evenly over the masters (each hashes on its name). */
export async function balancedName(cluster, base, count) {
  for (let attempt = 0; ; attempt++) {
    const stream = `${base}-${attempt}`;
    const perMaster = new Map(cluster.ports.map((port) => [port, 0]));
    for (const key of partitionKeys(stream, count)) {
      const port = await cluster.masterOf(key);
      perMaster.set(port, perMaster.get(port) + 1);
    }
    if (Math.max(...perMaster.values()) - Math.min(...perMaster.values()) <= 1) return stream;
  }
}

/** The owner of each partition (a consumer name, or null), from the lease keys. */
export async function owners(redis, keys, group) {
  return Promise.all(keys.map(async (key) => ownerOf(await redis.get(leaseKey(key, group)))));
}

/** Waits until every partition is owned and each of `consumers` owns its fair share; returns the owners. */
export async function settledOwners(redis, keys, group, consumers, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await owners(redis, keys, group);
    const counts = consumers.map((name) => now.filter((owner) => owner === name).length);
    if (counts.every((count) => count === keys.length / consumers.length)) return now;
    if (Date.now() > deadline) throw new Error(`partition owners did not settle: ${JSON.stringify(now)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
