import type { Cluster, Redis } from 'ioredis';
import { ReplicasNotConfirmedError } from '../errors/replicas-not-confirmed.error.js';
import { connectionHistory } from '../redis/connection-epoch.js';
import { sendCorked } from '../redis/corked-send.js';
import { isCluster } from '../redis/connection.js';
import { type Appended, appendOnMaster } from './master-append.js';

/** `durability` of the client: how many replicas must have an emit, and how long to wait for them (ms). */
export interface Durability {
  replicas: number;
  timeout: number;
}

interface Write {
  stream: string;
  appended: Promise<Appended>;
  resolve: (id: string) => void;
  reject: (err: unknown) => void;
}

/**
 * Completes emits only once `replicas` replicas have them. WAIT counts the replicas that acknowledged the writes sent
 * before it on its own connection, so each XADD's WAIT must go to the connection that ran it: on a cluster the XADD
 * is sent on the connection of the master serving its slot (`appendOnMaster`), not through the Cluster (which follows
 * MOVED and ASK unseen). The writes of one tick form a batch; once they are all answered, one `WAIT replicas timeout`
 * goes to each connection that ran some of them, and each emit resolves or fails with that connection's answer. An
 * emit whose connection closed between its XADD's answer and its WAIT's is not confirmed, whatever WAIT said: a WAIT
 * on a new socket is not documented to cover the old socket's writes (Redis 7.0 was seen waiting for the master's
 * whole offset there, but nothing promises it).
 */
export class ReplicaWait {
  private batch?: Write[];

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly durability: Durability,
  ) {}

  /** Appends an entry (`args`: XADD's arguments after the key) and resolves with its id once replicas confirm it. */
  append(stream: string, key: string, args: (string | number)[]): Promise<string> {
    const appended = this.send(key, args);
    return new Promise<string>((resolve, reject) => {
      if (!this.batch) {
        const batch: Write[] = (this.batch = []);
        process.nextTick(() => {
          this.batch = undefined;
          void this.confirm(batch);
        });
      }
      this.batch.push({ stream, appended, resolve, reject });
    });
  }

  private send(key: string, args: (string | number)[]): Promise<Appended> {
    const redis = this.redis;
    if (isCluster(redis)) return appendOnMaster(redis, key, args);
    const history = connectionHistory(redis);
    return sendCorked<string>(redis, 'xadd', [key, ...args]).then((id) => ({
      id,
      connection: redis,
      epoch: history.closes,
    }));
  }

  private async confirm(batch: Write[]): Promise<void> {
    const results = await Promise.allSettled(batch.map((write) => write.appended));
    const byConnection = new Map<Redis, { write: Write; appended: Appended }[]>();
    batch.forEach((write, i) => {
      const result = results[i];
      if (result.status === 'rejected') return write.reject(result.reason);
      const list = byConnection.get(result.value.connection) ?? [];
      list.push({ write, appended: result.value });
      byConnection.set(result.value.connection, list);
    });
    const { replicas, timeout } = this.durability;
    await Promise.all(
      [...byConnection].map(async ([connection, writes]) => {
        let confirmed: number;
        try {
          confirmed = Number(await connection.call('WAIT', replicas, timeout));
        } catch (err) {
          const cause = err instanceof Error ? err : new Error(`WAIT failed: ${JSON.stringify(err)}`);
          for (const { write, appended } of writes) {
            write.reject(new ReplicasNotConfirmedError(write.stream, appended.id, 0, replicas, timeout, cause));
          }
          return;
        }
        const closes = connectionHistory(connection).closes;
        for (const { write, appended } of writes) {
          if (appended.epoch !== closes) {
            const lost = new Error('the connection closed after the XADD; WAIT ran on a new one');
            write.reject(new ReplicasNotConfirmedError(write.stream, appended.id, 0, replicas, timeout, lost));
          } else if (confirmed >= replicas) write.resolve(appended.id);
          else write.reject(new ReplicasNotConfirmedError(write.stream, appended.id, confirmed, replicas, timeout));
        }
      }),
    );
  }
}
