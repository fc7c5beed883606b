import type { Cluster, Redis } from 'ioredis';
import { keySlot } from '../cluster/key-slot.js';
import { ReplicasNotConfirmedError } from '../errors/replicas-not-confirmed.error.js';
import { isCluster } from '../redis/connection.js';

/** `durability` of the client: how many replicas must have an emit, and how long to wait for them (ms). */
export interface Durability {
  replicas: number;
  timeout: number;
}

interface Write {
  stream: string;
  key: string;
  written: Promise<string>;
  resolve: (id: string) => void;
  reject: (err: unknown) => void;
}

/**
 * Completes emits only once `replicas` replicas have them. The writes of one tick form a batch; once they are all
 * answered, one `WAIT replicas timeout` goes to each master that took some of them, on the connection that wrote
 * them (WAIT counts the replicas that reached that connection's last write), and each emit resolves or fails with
 * its master's answer.
 */
export class ReplicaWait {
  private batch?: Write[];

  constructor(
    private readonly redis: Redis,
    private readonly durability: Durability,
  ) {}

  /** Holds back `written` (an XADD's id) until its replicas confirm it. */
  track(stream: string, key: string, written: Promise<string>): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      if (!this.batch) {
        const batch: Write[] = (this.batch = []);
        process.nextTick(() => {
          this.batch = undefined;
          void this.confirm(batch);
        });
      }
      this.batch.push({ stream, key, written, resolve, reject });
    });
  }

  private async confirm(batch: Write[]): Promise<void> {
    const ids = await Promise.allSettled(batch.map((write) => write.written));
    const byNode = new Map<Redis, { write: Write; id: string }[]>();
    batch.forEach((write, i) => {
      const result = ids[i];
      if (result.status === 'rejected') return write.reject(result.reason);
      const node = this.nodeOf(write.key);
      if (!node) {
        return write.reject(
          new Error(`No master is known for the slot of "${write.key}" to WAIT on (cluster topology changing).`),
        );
      }
      const list = byNode.get(node) ?? [];
      list.push({ write, id: result.value });
      byNode.set(node, list);
    });
    const { replicas, timeout } = this.durability;
    await Promise.all(
      [...byNode].map(async ([node, writes]) => {
        let confirmed: number;
        try {
          confirmed = Number(await node.call('WAIT', replicas, timeout));
        } catch (err) {
          for (const { write } of writes) write.reject(err);
          return;
        }
        for (const { write, id } of writes) {
          if (confirmed >= replicas) write.resolve(id);
          else write.reject(new ReplicasNotConfirmedError(write.stream, id, confirmed, replicas, timeout));
        }
      }),
    );
  }

  /** The connection that wrote `key`: the one Redis, or on a cluster the master now serving its slot. */
  private nodeOf(key: string): Redis | undefined {
    const redis = this.redis as Redis | Cluster;
    if (!isCluster(redis)) return redis;
    const [master] = redis.slots[keySlot(key)] ?? [];
    return redis.nodes('master').find(({ options }) => `${options.host}:${options.port}` === master);
  }
}
