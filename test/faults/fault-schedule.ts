// Applies a seed's fault schedule while entries flow. Faults overlap in time (a close can meet a Redis restart), but
// each worker slot takes one process fault at a time, XGROUP DESTROY and trimming wait until no process fault runs,
// and the suite's own commands (CLIENT KILL, XGROUP DESTROY, XTRIM) wait until Redis is back from a restart, a
// failover or a reshard.
// Every fault applied is recorded with its start and end, which the checks use (freeze windows excuse overlaps).
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkerPool } from '../chaos/chaos-processes.js';
import { ClusterUnderTest } from './cluster-under-test.js';
import type { RedisUnderTest } from './redis-under-test.js';
import type { FaultKind, PlannedFault, Scenario } from './scenario.js';
import { Locks } from './locks.js';
import { StandaloneUnderTest } from './standalone-under-test.js';
import { destroyGroup, trim } from './stream-admin.js';

export interface AppliedFault {
  kind: FaultKind;
  start: number;
  end: number;
  /** The frozen, killed or closed process's pid; the destroyed group; the dropped connection… */
  detail: string;
  pid?: number;
  /** For destroy: the stream's last id when the group was destroyed, and the ids pending in the group then. */
  lastId?: string;
  pendingAtDestroy?: string[];
  /** For trim: the ids it removed. */
  trimmed?: string[];
  /** Why the fault could not be applied or completed. */
  error?: string;
  /** For failover in a partitioned seed: the partitions whose master it killed (see partition-faults.ts). */
  partitions?: number[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

export class FaultSchedule {
  readonly applied: AppliedFault[] = [];
  readonly locks = new Locks();
  /** Set when the seed ends: a fault still waiting must not start a worker or redis-server nobody will stop. */
  private stopped = false;
  /** In a partitioned seed: the partitions the master on a port serves, so a failover records which it hit. */
  partitionsOn?: (port: number) => Promise<number[]>;

  constructor(
    private readonly s: Scenario,
    private readonly pool: WorkerPool,
    private readonly redis: RedisUnderTest,
    private readonly key: string,
    /** The workers' event directory; an `outage` file there makes every handler fail (see faults-worker.mjs). */
    private readonly eventDir: string,
  ) {}

  /** Applies every planned fault at its time (ms after `started`) and resolves when all are over. */
  async run(started: number): Promise<void> {
    await Promise.all(
      this.s.faults.map(async (fault) => {
        await sleep(started + fault.at - Date.now());
        await this.apply(fault);
      }),
    );
  }

  private slots(): string[] {
    return Array.from({ length: this.s.workers }, (_, i) => `slot-${i}`);
  }

  private apply(f: PlannedFault): Promise<void> {
    const slot = [`slot-${f.target}`];
    switch (f.kind) {
      case 'kill':
        return this.locks.with(slot, () => this.record(f, () => this.kill(f)));
      case 'close':
        return this.locks.with(slot, () => this.record(f, () => this.close(f)));
      case 'freeze':
        return this.locks.with(slot, () => this.record(f, () => this.freeze(f)));
      case 'client-kill':
        return this.locks.with([...slot, 'redis'], () => this.record(f, () => this.clientKill(f)));
      case 'restart':
        return this.locks.with(['redis'], () => this.record(f, () => this.restartRedis(f)));
      case 'failover':
        return this.locks.with(['redis'], () => this.record(f, () => this.failover(f)));
      case 'reshard':
        return this.locks.with(['redis'], () => this.record(f, () => this.onCluster().reshard(this.key, f.pick)));
      case 'latency':
        return this.locks.with(['proxy'], () => this.record(f, () => this.latency(f)));
      case 'destroy':
        return this.locks.with([...this.slots(), 'redis'], () => this.record(f, () => this.destroy(f)));
      case 'outage':
        return this.locks.with(['outage'], () => this.record(f, () => this.outage(f)));
      case 'trim':
        return this.locks.with([...this.slots(), 'redis'], () =>
          this.record(f, () => trim(this.redis.admin, this.key, f.pick)),
        );
      case 'redis-freeze':
        // Drawn for partitioned seeds only, and applied by their schedule (partition-faults.ts).
        return this.record(f, () => Promise.reject(new Error('redis-freeze is applied by partition-faults.ts')));
    }
  }

  /** Applies a fault and records it; a fault that fails (Redis was down for an admin command…) is recorded as such. */
  private async record(f: PlannedFault, act: () => Promise<string | Partial<AppliedFault>>): Promise<void> {
    const start = Date.now();
    try {
      const result = await act();
      const extra = typeof result === 'string' ? { detail: result } : result;
      this.applied.push({ kind: f.kind, start, end: Date.now(), detail: '', ...extra });
    } catch (err) {
      const error = err instanceof Error ? err.message.split('\n')[0] : String(err);
      this.applied.push({ kind: f.kind, start, end: Date.now(), detail: 'failed', error });
    }
  }

  private pid(slot: number): number {
    const mine = this.pool.incarnations.filter((i) => i.consumer === `worker-${slot + 1}`);
    return mine[mine.length - 1]?.pid ?? 0;
  }

  stop(): void {
    this.stopped = true;
  }

  /** Starts a slot again (retried: see `startRetrying`). */
  restartSlot(slot: number): Promise<void> {
    return startRetrying(this.pool, slot, () => this.stopped);
  }

  private async kill(f: PlannedFault): Promise<Partial<AppliedFault>> {
    const pid = this.pid(f.target);
    await this.pool.kill(f.target);
    await sleep(f.ms);
    await this.restartSlot(f.target);
    return { pid, detail: `worker-${f.target + 1} down ${f.ms} ms` };
  }

  /** app.close() mid-run (SIGTERM); the worker logs how long close() took; SIGKILL if it never returns. */
  private async close(f: PlannedFault): Promise<Partial<AppliedFault>> {
    const pid = this.pid(f.target);
    await this.pool.stop(f.target, this.s.shutdownTimeout + 10_000);
    await sleep(f.ms);
    await this.restartSlot(f.target);
    return { pid, detail: `worker-${f.target + 1} closed, down ${f.ms} ms` };
  }

  private async freeze(f: PlannedFault): Promise<Partial<AppliedFault>> {
    const pid = this.pid(f.target);
    this.pool.signal(f.target, 'SIGSTOP');
    try {
      await sleep(f.ms);
    } finally {
      this.pool.signal(f.target, 'SIGCONT');
    }
    return { pid, detail: `worker-${f.target + 1} frozen ${f.ms} ms` };
  }

  /**
   * CLIENT KILL of one of the process's connections (its reader of one group, broadcast, or shared commands; on a
   * cluster, the one to a given node).
   */
  private async clientKill(f: PlannedFault): Promise<string> {
    const prefix = `worker-${f.target + 1}:`;
    const conns = await this.redis.connections(prefix);
    if (conns.length === 0) return `no connection named ${prefix}…`;
    const conn = conns[Math.floor(f.pick * conns.length)];
    await this.redis.killConnection(conn);
    return `${conn.name} on ${conn.port}`;
  }

  /**
   * SIGKILL of redis-server, then a start from the AOF after it was down for 0–3 s, or one time in four for 8–12 s:
   * longer than some `shutdownTimeout` + 5 s, so a close() that meets it must return without Redis.
   */
  private async restartRedis(f: PlannedFault): Promise<string> {
    const down = f.pick < 0.25 ? 8000 + Math.round(f.pick * 16_000) : Math.min(f.ms, 3000);
    const { server } = this.standalone();
    await server.kill('SIGKILL');
    await sleep(down);
    if (this.stopped) return 'redis not restarted: the seed ended';
    await server.restart(true);
    return `redis down ${down} ms`;
  }

  /**
   * A restart's counterpart on a cluster: kill -9 of the master holding the stream while its replica lags 0.3–0.8 s
   * behind (less than the cluster's node timeout), that replica promoted in its place, and the killed node started
   * again after 0–3 s, to rejoin as the new master's replica (so emits can be confirmed by a replica again, and a
   * later failover has one to promote). Writes of the lag window are lost: unconfirmed emits, deliveries, acks.
   */
  private async failover(f: PlannedFault): Promise<Partial<AppliedFault>> {
    const cluster = this.onCluster();
    const lag = 300 + Math.round(f.pick * 500);
    const partitions = this.partitionsOn && (await this.partitionsOn(await cluster.masterOfKey(this.key)));
    const { killed, promoted } = await cluster.killMasterOf(this.key, lag);
    const down = Math.min(f.ms, 3000);
    await sleep(down);
    const what = `master ${killed} killed ${lag} ms ahead of its replica, ${promoted} promoted`;
    if (this.stopped) return { partitions, detail: `${what}; not restarted: the seed ended` };
    await cluster.rejoin(killed);
    return { partitions, detail: `${what}, ${killed} back as a replica after ${down} ms` };
  }

  private standalone(): StandaloneUnderTest {
    if (this.redis instanceof StandaloneUnderTest) return this.redis;
    throw new Error('a Redis restart is planned on a standalone Redis only (on a cluster it becomes a failover)');
  }

  private onCluster(): ClusterUnderTest {
    if (this.redis instanceof ClusterUnderTest) return this.redis;
    throw new Error('failovers and reshards are planned on a cluster only (npm run test:faults -- --cluster)');
  }

  /** Every proxy (one per node on a cluster) holds every chunk longer for a while. */
  private async latency(f: PlannedFault): Promise<string> {
    const proxies = this.redis.proxies;
    const base = proxies[0].delayMs;
    const spike = 50 + Math.floor(f.pick * 350);
    for (const proxy of proxies) proxy.delayMs = spike;
    await sleep(f.ms);
    for (const proxy of proxies) proxy.delayMs = base;
    return `${spike} ms for ${f.ms} ms`;
  }

  /** A downstream outage: every handler run fails for a while (retries pile up; the bound must still hold). */
  private async outage(f: PlannedFault): Promise<string> {
    const flag = join(this.eventDir, 'outage');
    writeFileSync(flag, '');
    try {
      await sleep(f.ms);
    } finally {
      rmSync(flag, { force: true });
    }
    return `every handler failed for ${f.ms} ms`;
  }

  /** XGROUP DESTROY, then waits (holding every slot) until a reader recreated the group. */
  private async destroy(f: PlannedFault): Promise<Partial<AppliedFault>> {
    const group = this.s.groups[f.target].name;
    const destroyed = await destroyGroup(this.redis.admin, this.key, group);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const groups = (await this.redis.admin.call('XINFO', 'GROUPS', this.key)) as unknown[][];
      if (groups.some((row) => row[1] === group)) return { detail: `${group} recreated`, ...destroyed };
      await sleep(100);
    }
    return { detail: `${group} destroyed`, ...destroyed, error: 'no reader recreated the group within 20 s' };
  }
}

/**
 * Starts a worker slot, retried up to 10 times a second apart while `stopped()` is false: a start fails while Redis
 * restarts (listen() can't connect) or a cluster settles.
 */
export async function startRetrying(pool: WorkerPool, slot: number, stopped: () => boolean): Promise<void> {
  for (let attempt = 1; !stopped(); attempt++) {
    try {
      return await pool.start(slot);
    } catch (err) {
      if (attempt >= 10) throw err;
      await sleep(1000);
    }
  }
}
