// The faults the chaos suite injects while entries flow: kill -9 of a consumer process (and its restart under the same
// consumer name), a freeze of a consumer process (SIGSTOP past minIdleTime, then SIGCONT), a crash and restart of
// Redis, and dropped client connections. Each is counted for the summary.
import type { Redis } from 'ioredis';
import type { RedisServer } from '../support/redis-server.js';
import type { WorkerPool } from './chaos-processes.js';

export type Fault = 'kill' | 'freeze' | 'restart' | 'drop';

export interface FaultCounts {
  kills: number;
  freezes: number;
  restarts: number;
  drops: number;
  /** Connections closed by the drops. */
  droppedConnections: number;
}

/** A small seeded generator (mulberry32), so a failing run can be repeated with CHAOS_SEED. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class FaultInjector {
  readonly counts: FaultCounts = { kills: 0, freezes: 0, restarts: 0, drops: 0, droppedConnections: 0 };

  constructor(
    private readonly redis: RedisServer,
    private readonly admin: Redis,
    private readonly pool: WorkerPool,
    /** The stream key and group the workers consume (to pick a worker that holds entries). */
    private readonly stream: string,
    private readonly group: string,
    private readonly random: () => number,
    /** The workers' minIdleTime: a killed worker stays down for up to 1.75× this, a frozen one for 2× (see below). */
    private readonly minIdleTimeMs: number,
  ) {}

  /**
   * Starts fault i at `(i + 1) × intervalMs` from now, or as soon as the fault before it is over, whichever is later.
   */
  async run(faults: Fault[], intervalMs: number): Promise<void> {
    const started = Date.now();
    for (const [i, fault] of faults.entries()) {
      await sleep(started + (i + 1) * intervalMs - Date.now());
      if (fault === 'kill') await this.kill();
      else if (fault === 'freeze') await this.freeze();
      else if (fault === 'restart') await this.restartRedis();
      else await this.drop();
    }
  }

  /**
   * `kill -9` of a random consumer, then a restart under the same consumer name after a random downtime. Downtimes
   * below the workers' minIdleTime let the restarted worker re-read its own pending entries; longer ones let the
   * other workers claim them first. Both recovery paths get exercised.
   */
  async kill(): Promise<void> {
    const slot = Math.floor(this.random() * this.pool.size);
    await this.pool.kill(slot);
    this.counts.kills++;
    await sleep(Math.floor(this.random() * this.minIdleTimeMs * 1.75));
    await this.pool.start(slot);
  }

  /**
   * Freezes a worker that holds entries (SIGSTOP) for twice the minIdleTime, then lets it go on (SIGCONT), as a long
   * GC pause or a stalled VM would. Meanwhile the others claim its entries and run them; when it wakes, it finishes
   * the same entries. So some handlers complete twice, and their effects must still be applied once: the frozen
   * worker must not ack (or apply the effects of) entries that are no longer its own.
   */
  async freeze(): Promise<void> {
    const slot = await this.busiestSlot();
    this.pool.signal(slot, 'SIGSTOP');
    this.counts.freezes++;
    try {
      await sleep(this.minIdleTimeMs * 2);
    } finally {
      this.pool.signal(slot, 'SIGCONT');
    }
  }

  /** The slot whose consumer has the most entries pending in the group. */
  private async busiestSlot(): Promise<number> {
    const rows = (await this.admin.call('XINFO', 'CONSUMERS', this.stream, this.group)) as unknown[][];
    const pending = new Map<string, number>();
    for (const row of rows) {
      const info: Record<string, unknown> = {};
      for (let i = 0; i < row.length; i += 2) info[row[i] as string] = row[i + 1];
      pending.set(String(info.name), Number(info.pending));
    }
    let best = 0;
    this.pool.consumers.forEach((name, i) => {
      if ((pending.get(name) ?? 0) > (pending.get(this.pool.consumers[best]) ?? 0)) best = i;
    });
    return best;
  }

  /**
   * Crash of Redis: SIGKILL, then a start on the same port that reads the append-only file back. Redis runs with
   * `appendfsync always`, so every write a client saw acknowledged survives the crash: anything lost after this is the
   * transport's doing, not Redis' durability window.
   */
  async restartRedis(): Promise<void> {
    await this.redis.restart(true);
    this.counts.restarts++;
  }

  /** Closes every connection of the consumer processes (CLIENT KILL by id of the connections named `worker-…`). */
  async drop(): Promise<void> {
    const list = (await this.admin.call('CLIENT', 'LIST', 'TYPE', 'normal')) as string;
    const ids = list
      .split('\n')
      .map((line) => /(?:^|\s)id=(\d+)\s.*\sname=(\S*)/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null && m[2].startsWith('worker-'))
      .map((m) => m[1]);
    if (ids.length === 0) throw new Error('No worker connections to drop: CLIENT LIST shows no client named worker-….');
    for (const id of ids) this.counts.droppedConnections += Number(await this.admin.call('CLIENT', 'KILL', 'ID', id));
    this.counts.drops++;
  }
}
