// A Redis Cluster whose topology is changing (just created, failing over, resharding) answers for a few seconds with
// CLUSTERDOWN, TRYAGAIN, redirections that don't converge or a dead master's closed connection: start-up waits it out.
import type { LoggerService } from '@nestjs/common';
import { ClusterNotSettledError } from '../errors/cluster-not-settled.error.js';
import type { RedisConnection } from '../interfaces/redis-streams-options.interface.js';

/** How long start-up waits for a settling cluster by default (ms); see `RedisClusterConnection.settleTimeout`. */
export const DEFAULT_SETTLE_TIMEOUT = 30_000;
/** The bound of a connection: its `settleTimeout` on a cluster; 0 (no retries) for a single Redis. */
export function settleTimeoutOf(connection: RedisConnection): number {
  if (typeof connection !== 'object' || !('cluster' in connection)) return 0;
  return connection.settleTimeout ?? DEFAULT_SETTLE_TIMEOUT;
}

/** How often the wait is logged again (ms). */
const LOG_EVERY_MS = 5000;

const SETTLING =
  /Too many Cluster redirections|^(CLUSTERDOWN|TRYAGAIN|MOVED|ASK|MASTERDOWN|LOADING)\b|Failed to refresh slots cache|None of startup nodes is available|Cluster isn't ready/;

/** Whether `err` is what a cluster answers while its topology changes, so the same command may succeed soon. */
export function isSettlingError(err: unknown): err is Error {
  return err instanceof Error && SETTLING.test(err.message);
}

/** Runs start-up steps, each retried while the cluster is settling, all within one bound counted from its creation. */
export class ClusterSettling {
  private readonly deadline: number;

  /** `timeout` 0: no retries (not a cluster, or the user wants none). */
  constructor(
    private readonly timeout: number,
    private readonly logger: LoggerService,
  ) {
    this.deadline = performance.now() + timeout;
  }

  /** Runs `step` (named for log lines and the error: 'creating consumer group G'), retrying settling errors. */
  async run<T>(what: string, step: () => Promise<T>): Promise<T> {
    let loggedAt = Number.NEGATIVE_INFINITY;
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch (err) {
        if (!isSettlingError(err) || this.timeout <= 0) throw err;
        const left = this.deadline - performance.now();
        if (left <= 0) throw new ClusterNotSettledError(what, this.timeout, err);
        if (performance.now() - loggedAt >= LOG_EVERY_MS) {
          loggedAt = performance.now();
          this.logger.warn?.(
            `The Redis Cluster is settling (${err.message}) while ${what}; retrying for up to ${Math.ceil(left / 1000)} s.`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * attempt, 1000, left)));
      }
    }
  }
}
