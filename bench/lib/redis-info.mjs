// Reads a consumer group's progress from XINFO GROUPS, to tell when a backlog has been consumed and acknowledged.
export async function groupState(redis, key, group) {
  const groups = await redis.call('XINFO', 'GROUPS', key);
  for (const row of groups) {
    const info = {};
    for (let i = 0; i < row.length; i += 2) info[row[i]] = row[i + 1];
    if (info.name === group)
      return { pending: Number(info.pending), lastDeliveredId: String(info['last-delivered-id']) };
  }
  throw new Error(`Group ${group} not found on ${key}`);
}

/**
 * Polls every `intervalMs` until the group has delivered up to `lastId` and nothing is pending (every entry read and
 * acknowledged). Resolves with the time (performance.now()) at which that was first seen.
 */
export async function waitDrained(redis, key, group, lastId, { intervalMs = 2, timeoutMs = 300_000 } = {}) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const state = await groupState(redis, key, group);
    const seen = performance.now();
    if (state.pending === 0 && state.lastDeliveredId === lastId) return seen;
    if (seen > deadline) {
      throw new Error(
        `Group ${group} on ${key} did not drain in ${timeoutMs} ms (pending ${state.pending}, at ${state.lastDeliveredId}, want ${lastId})`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** CPU time a redis-server has used (user + system), in ms. */
export async function redisCpu(redis) {
  const info = await redis.info('cpu');
  const value = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)[1]);
  return 1000 * (value('used_cpu_user') + value('used_cpu_sys'));
}
