// The Redis a seed runs against: one redis-server (standalone-under-test.ts) or a 3-master + 3-replica cluster
// (cluster-under-test.ts). The rest of the suite reaches either one through this: its own admin connection, how the
// producer and the workers connect, the latency proxies, and the client connections a CLIENT KILL can pick from.
import type { Cluster, Redis } from 'ioredis';
import type { RedisConnection } from 'nestjs-redis-streams';
import type { LatencyProxy } from './latency-proxy.js';

/** The suite's own connection. Its commands each touch one slot, so a `Cluster` answers them as a `Redis` does. */
export type Admin = Redis | Cluster;

/** A client connection as CLIENT LIST shows it, and the port of the node that holds it. */
export interface ClientConnection {
  port: number;
  id: string;
  name: string;
}

export interface RedisUnderTest {
  readonly admin: Admin;
  /** `connection` of the producer's client: straight to Redis, never through a latency proxy. */
  readonly connection: RedisConnection;
  /** How the workers connect (through the latency proxies when the seed has them); see faults-worker.mjs. */
  readonly workerEnv: { CHAOS_REDIS_URL: string; FAULTS_CLUSTER?: string };
  /** The proxies in front of Redis (one per node); empty when the workers connect directly. */
  readonly proxies: LatencyProxy[];
  /** The client connections whose name starts with `prefix`, on every node, by name. */
  connections(prefix: string): Promise<ClientConnection[]>;
  killConnection(connection: ClientConnection): Promise<void>;
  /** Stops every process and proxy it started. */
  stop(): Promise<void>;
  /** SIGKILL of every redis-server, without waiting (Ctrl-C). */
  killNow(): void;
}

/** The named connections of a `CLIENT LIST TYPE normal` reply of the node on `port`. */
export function namedConnections(list: string, port: number, prefix: string): ClientConnection[] {
  return list
    .split('\n')
    .map((line) => /(?:^|\s)id=(\d+)\s.*\sname=(\S*)/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && m[2].startsWith(prefix))
    .map(([, id, name]) => ({ port, id, name }));
}
