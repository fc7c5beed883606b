// How emits trim their stream: by length (MAXLEN ~) or by age (MINID ~), and on Redis 8.2 and later only entries
// that every consumer group has acknowledged (XADD … ACKED), so trimming can't drop what a group hasn't handled.
import type { Redis } from 'ioredis';

/** Whether a Redis version (`redis_version` of INFO, e.g. `8.2.1`) knows XADD … ACKED (added in 8.2). */
export function supportsAckedTrim(version: string): boolean {
  const match = /^(\d+)\.(\d+)/.exec(version.trim());
  if (!match) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major > 8 || (major === 8 && minor >= 2);
}

/** Asks Redis its version (INFO server); `false` when it can't be read (an ACL without INFO, a proxy). */
export async function detectAckedTrim(redis: Redis): Promise<boolean> {
  try {
    const info = await redis.info('server');
    const version = /^redis_version:(.+)$/m.exec(info)?.[1];
    return version !== undefined && supportsAckedTrim(version);
  } catch {
    return false;
  }
}

/** The trimming arguments of XADD (before the id): none, `MAXLEN ~ n` or `MINID ~ <now - maxAge>`, `ACKED` first. */
export function trimArgs(
  policy: { maxLen?: number; maxAge?: number },
  acked: boolean,
  now: number,
): (string | number)[] {
  const mode = acked ? ['ACKED'] : [];
  if (policy.maxLen) return [...mode, 'MAXLEN', '~', policy.maxLen];
  if (policy.maxAge) return [...mode, 'MINID', '~', Math.max(0, now - policy.maxAge)];
  return [];
}
