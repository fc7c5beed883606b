// Applies a partitioned seed's own faults (partition-scenario.ts) beside the plain schedule (fault-schedule.ts), with
// the same locks: an instance slot takes one process fault at a time, and Redis faults (freeze, failover, reshard, the
// forced reset) wait for each other and for the plain schedule's restarts, failovers and reshards. Each applied fault
// records which partitions it touched (a Redis fault on a cluster touches the partitions whose master it hit) and
// whether it touched the plain stream's master too, so the plain checks hear of it.
import { StreamHistory } from 'nestjs-redis-streams';
import type { WorkerPool } from '../chaos/chaos-processes.js';
import { ClusterUnderTest } from './cluster-under-test.js';
import { startRetrying } from './fault-schedule.js';
import { readEventLogs } from './event-log.js';
import type { Locks } from './locks.js';
import type { RedisUnderTest } from './redis-under-test.js';
import type { PartitionFaultKind, PartitionPlan, PlannedFault } from './scenario.js';
import { StandaloneUnderTest } from './standalone-under-test.js';
import { field } from './stream-admin.js';
import { idTime } from './stream-ids.js';

export interface AppliedPartitionFault {
  kind: PartitionFaultKind;
  start: number;
  end: number;
  detail: string;
  /** The instance slot (process faults) or the partition (Redis faults) it was planned for. */
  target: number;
  /** The frozen, killed or closed instance's pid. */
  pid?: number;
  /** Partitions whose Redis it hit (every one on a standalone Redis); empty for process faults. */
  partitions: number[];
  /** On a cluster: the plain stream's master was hit too (so the plain checks count it). */
  touchesPlain?: boolean;
  /** A redis-freeze on a cluster: the frozen master was replaced by its replica meanwhile. */
  failedOver?: boolean;
  /** On a cluster: the longest stretch (ms) in which the other nodes said CLUSTERDOWN during this fault. */
  clusterDownMs?: number;
  /** A reset: how it moved each partition's group (the entries in (previousId, id] of a forward move are skipped). */
  moves?: { partition: number; previousId: string | null; id: string }[];
  error?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

export class PartitionSchedule {
  readonly applied: AppliedPartitionFault[] = [];
  private stopped = false;

  constructor(
    private readonly p: PartitionPlan,
    private readonly pool: WorkerPool,
    private readonly redis: RedisUnderTest,
    private readonly locks: Locks,
    /** The prefixed key of the logical stream, each partition's key, and the plain stream's key. */
    private readonly keys: { prefix: string; stream: string; partitions: string[]; plain: string },
    /** The instances' event logs: a reset waits (a little) for a run in progress, to meet it. */
    private readonly eventDir: string,
  ) {}

  async run(started: number): Promise<void> {
    await Promise.all(
      this.p.faults.map(async (fault) => {
        await sleep(started + fault.at - Date.now());
        if (!this.stopped) await this.apply(fault);
      }),
    );
  }

  stop(): void {
    this.stopped = true;
  }

  /** Starts an instance slot (retried: see `startRetrying`). */
  startSlot(slot: number): Promise<void> {
    return startRetrying(this.pool, slot, () => this.stopped);
  }

  private apply(f: PlannedFault<PartitionFaultKind>): Promise<void> {
    const slot = [`pslot-${f.target}`];
    switch (f.kind) {
      case 'p-join':
      case 'p-leave':
      case 'p-kill':
      case 'p-freeze':
        return this.locks.with(slot, () => this.record(f, () => this.instance(f)));
      case 'p-client-kill':
        return this.locks.with([...slot, 'redis'], () => this.record(f, () => this.clientKill(f)));
      case 'redis-freeze':
        return this.locks.with(['redis'], () => this.record(f, () => this.freezeRedis(f)));
      case 'p-failover':
        return this.locks.with(['redis'], () => this.record(f, () => this.failover(f)));
      case 'p-reshard':
        return this.locks.with(['redis'], () => this.record(f, () => this.reshard(f)));
      case 'p-reset':
        return this.locks.with(['redis'], () => this.record(f, () => this.reset(f)));
    }
  }

  private async record(
    f: PlannedFault<PartitionFaultKind>,
    act: () => Promise<Partial<AppliedPartitionFault>>,
  ): Promise<void> {
    const start = Date.now();
    const base = { kind: f.kind, start, target: f.target, partitions: [] as number[] };
    try {
      this.applied.push({ ...base, detail: '', ...(await act()), end: Date.now() });
    } catch (err) {
      const error = err instanceof Error ? err.message.split('\n')[0] : String(err);
      this.applied.push({ ...base, end: Date.now(), detail: 'failed', error });
    }
  }

  private pid(slot: number): number {
    const mine = this.pool.incarnations.filter((i) => i.consumer === `p-worker-${slot + 1}`);
    return mine[mine.length - 1]?.pid ?? 0;
  }

  /**
   * An instance joins (started for the first time), leaves (app.close(), or kill -9) and comes back after `ms`, or
   * (pick < 0.3) only at the end of production; or is frozen (SIGSTOP) for `ms`, past the lease.
   */
  private async instance(f: PlannedFault<PartitionFaultKind>): Promise<Partial<AppliedPartitionFault>> {
    const name = `p-worker-${f.target + 1}`;
    const running = this.pool.running(f.target);
    if (f.kind === 'p-join') {
      if (running) return { detail: `${name} already running` };
      await this.startSlot(f.target);
      return { detail: `${name} joined`, pid: this.pid(f.target) };
    }
    if (!running) return { detail: `${name} not running: nothing to do` };
    const pid = this.pid(f.target);
    if (f.kind === 'p-freeze') {
      this.pool.signal(f.target, 'SIGSTOP');
      try {
        await sleep(f.ms);
      } finally {
        this.pool.signal(f.target, 'SIGCONT');
      }
      return { pid, detail: `${name} frozen ${f.ms} ms` };
    }
    if (f.kind === 'p-kill') await this.pool.kill(f.target);
    else await this.pool.stop(f.target, this.p.shutdownTimeout + 10_000);
    const how = f.kind === 'p-kill' ? 'killed -9' : 'closed';
    if (f.pick < 0.3) return { pid, detail: `${name} ${how}, back at the end of production` };
    await sleep(f.ms);
    if (!this.stopped) await this.startSlot(f.target);
    return { pid, detail: `${name} ${how}, back after ${f.ms} ms` };
  }

  private async clientKill(f: PlannedFault<PartitionFaultKind>): Promise<Partial<AppliedPartitionFault>> {
    const prefix = `p-worker-${f.target + 1}:`;
    const conns = await this.redis.connections(prefix);
    if (conns.length === 0) return { detail: `no connection named ${prefix}…` };
    const conn = conns[Math.floor(f.pick * conns.length)];
    await this.redis.killConnection(conn);
    return { detail: `${conn.name} on ${conn.port}` };
  }

  /** The partitions whose slot the master on `port` serves now. */
  async partitionsOnPort(port: number): Promise<number[]> {
    return (await this.partitionsOn(port)).partitions;
  }

  /** The partitions whose slot the master on `port` serves now (all of them on one redis-server). */
  private async partitionsOn(port: number | undefined): Promise<{ partitions: number[]; touchesPlain: boolean }> {
    if (!(this.redis instanceof ClusterUnderTest) || port === undefined) {
      return { partitions: this.keys.partitions.map((_, i) => i), touchesPlain: true };
    }
    const partitions: number[] = [];
    for (const [i, key] of this.keys.partitions.entries()) {
      if ((await this.redis.masterOfKey(key)) === port) partitions.push(i);
    }
    return { partitions, touchesPlain: (await this.redis.masterOfKey(this.keys.plain)) === port };
  }

  /** SIGSTOP of redis-server (or on a cluster of the master of partition `target`) for `ms`, past the lease time. */
  private async freezeRedis(f: PlannedFault<PartitionFaultKind>): Promise<Partial<AppliedPartitionFault>> {
    if (this.redis instanceof StandaloneUnderTest) {
      const { server } = this.redis;
      server.pause();
      try {
        await sleep(f.ms);
      } finally {
        server.resume();
      }
      return { ...(await this.partitionsOn(undefined)), detail: `redis-server frozen ${f.ms} ms` };
    }
    const cluster = this.onCluster();
    const key = this.keys.partitions[f.target];
    const master = await cluster.masterOfKey(key);
    const touched = await this.partitionsOn(master);
    const watch = cluster.watchClusterDown(master);
    let clusterDownMs = 0;
    const { port, failedOver } = await cluster.freezeMasterOf(key, f.ms).finally(async () => {
      clusterDownMs = await watch();
    });
    const how = failedOver ? 'its replica promoted meanwhile' : 'still master';
    return {
      ...touched,
      failedOver,
      clusterDownMs,
      detail: `master ${port} of p${f.target} frozen ${f.ms} ms, ${how}; CLUSTERDOWN up to ${clusterDownMs} ms`,
    };
  }

  /** kill -9 of partition `target`'s master, its replica lagging 0.3–0.8 s behind; back as a replica after 0–3 s. */
  private async failover(f: PlannedFault<PartitionFaultKind>): Promise<Partial<AppliedPartitionFault>> {
    const cluster = this.onCluster();
    const key = this.keys.partitions[f.target];
    const master = await cluster.masterOfKey(key);
    const touched = await this.partitionsOn(master);
    const lag = 300 + Math.round(f.pick * 500);
    const watch = cluster.watchClusterDown(master);
    let clusterDownMs = 0;
    const { killed, promoted } = await cluster.killMasterOf(key, lag).finally(async () => {
      clusterDownMs = await watch();
    });
    const down = Math.min(f.ms, 3000);
    await sleep(down);
    const what =
      `master ${killed} of p${f.target} killed ${lag} ms ahead of its replica, ${promoted} promoted; ` +
      `CLUSTERDOWN up to ${clusterDownMs} ms`;
    if (this.stopped) return { ...touched, clusterDownMs, detail: `${what}; not restarted: the seed ended` };
    await cluster.rejoin(killed);
    return { ...touched, clusterDownMs, detail: `${what}, back as a replica after ${down} ms` };
  }

  /** Moves the slot of partition `target` (its stream, lease, generation and dead letters) to another master. */
  private async reshard(f: PlannedFault<PartitionFaultKind>): Promise<Partial<AppliedPartitionFault>> {
    const cluster = this.onCluster();
    const key = this.keys.partitions[f.target];
    const slot = Number(await cluster.admin.cluster('KEYSLOT', key));
    const partitions: number[] = [];
    for (const [i, other] of this.keys.partitions.entries()) {
      if (Number(await cluster.admin.cluster('KEYSLOT', other)) === slot) partitions.push(i);
    }
    const plainSlot = Number(await cluster.admin.cluster('KEYSLOT', this.keys.plain));
    return { partitions, touchesPlain: plainSlot === slot, detail: await cluster.reshard(key, f.pick) };
  }

  /**
   * `resetGroup(…, { force: true })` of the group backwards: to `'0'` (pick < 0.25), else to 1–9 s before the oldest
   * last-delivered id of the partitions' groups (a time applies to every partition alike, so only one before all of
   * them moves every one back). The entries after that position are delivered again (an operator asked for it); the
   * pending ones stay with their consumers.
   */
  private async reset(f: PlannedFault<PartitionFaultKind>): Promise<Partial<AppliedPartitionFault>> {
    const { admin } = this.redis;
    const history = new StreamHistory(admin, {
      keyPrefix: this.keys.prefix,
      partitions: { orders: this.p.partitions },
    });
    let oldest = Infinity;
    for (const key of this.keys.partitions) {
      const groups = (await admin.call('XINFO', 'GROUPS', key).catch(() => [])) as unknown[][];
      const row = groups.find((g) => String(field(g, 'name')) === 'pg');
      oldest = Math.min(oldest, row ? idTime(String(field(row, 'last-delivered-id'))) : 0);
    }
    // Up to 5 s for a run that has been going for 300 ms (a held or slow one), so the reset meets a running entry.
    let meets = '';
    for (const until = Date.now() + 5000; Date.now() < until && !meets; await sleep(100)) {
      const open = readEventLogs(this.eventDir).runs.find((r) => r.end === undefined && Date.now() - r.start >= 300);
      if (open && this.pool.incarnations.some((i) => i.pid === open.pid && i.exitedAt === undefined)) {
        meets = `, while ${open.token} ran ${open.key}/${open.seq} of p${open.partition}`;
      }
    }
    const back = 1000 + Math.round(f.pick * 8000);
    const to = f.pick < 0.25 || oldest - back <= 0 ? '0' : new Date(oldest - back);
    const reset = await history.resetGroup('orders', 'pg', to, { force: true });
    const where = to === '0' ? "'0'" : `${back} ms before the oldest group position (${Date.now() - oldest} ms ago)`;
    return {
      partitions: this.keys.partitions.map((_, i) => i),
      moves: (reset.partitions ?? []).map(({ partition, previousId, id }) => ({ partition, previousId, id })),
      detail: `pg reset to ${where} with force: ${reset.toRead} to read again, ${reset.pending} pending${meets}`,
    };
  }

  private onCluster(): ClusterUnderTest {
    if (this.redis instanceof ClusterUnderTest) return this.redis;
    throw new Error('partition failovers and reshards are planned on a cluster only');
  }
}
