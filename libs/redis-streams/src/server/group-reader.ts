import type { Redis } from 'ioredis';
import { RedisStreamsContext, type RedisStreamsEntryInfo } from '../ctx-host/redis-streams.context.js';
import type { RedisEffects } from '../effects/redis-effects.js';
import type { RetryBackoff } from '../interfaces/redis-streams-options.interface.js';
import type { StreamHeaders } from '../interfaces/serialization.interface.js';
import {
  ack,
  ackOwned,
  ackWithEffects,
  autoClaim,
  claimForRetry,
  deleteIdleConsumer,
  deliveryCounts,
  ensureGroup,
  groupConsumers,
  isNoGroup,
  moveToDeadLetter,
  readGroup,
  refreshOwned,
  type RawEntry,
} from '../redis/stream-commands.js';
import { DEAD_LETTER_FIELDS } from '../constants.js';
import { describeError, invokeHandler } from './handler-invoker.js';
import { StreamReader, type StreamReaderOptions, withTimeout } from './stream-reader.js';
import { SlotSet } from './slot-set.js';
import type { QueuedEntry, StreamSubscription } from './subscription.js';

/** What Nest's exception layer makes of an error that isn't an RpcException. */
const NEST_GENERIC_ERROR = 'Internal server error';

export interface GroupReaderOptions extends StreamReaderOptions {
  group: string;
  startId: string;
  minIdleTime: number;
  claimInterval: number;
  retryBackoff: RetryBackoff;
  consumerIdleTimeout: number;
  /** Told about entries moved to a dead-letter stream. */
  onDeadLetter?: (event: DeadLetterEvent) => void;
}

export interface DeadLetterEvent {
  stream: string;
  id: string;
  group: string;
  deadLetterKey: string;
  deadLetterId: string;
  reason: string;
}

/**
 * Reads one consumer group over one or more streams with XREADGROUP: first this consumer's own pending entries (left
 * by an earlier run under the same name), then new ones. Acks after success (batched, and only for entries still this
 * consumer's), retries failures with backoff, dead-letters after `maxDeliveries`, claims entries abandoned by dead
 * consumers, and keeps its own in-flight entries from being claimed.
 */
export class GroupReader extends StreamReader {
  /** The entries held here, queued or running, of every stream. */
  private readonly inFlight = new SlotSet<QueuedEntry>();
  private readonly ackBuffer = new Map<string, string[]>();
  /** Acks of entries too young to have been claimed by anyone (see `ack`). */
  private readonly youngAcks = new Map<string, string[]>();
  private ackFlushScheduled = false;
  private readonly writes = new Set<Promise<unknown>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private claiming = false;
  private claimDue = false;
  /** `key id` of failed entries waiting for their retry. */
  private readonly retrying = new Set<string>();

  constructor(private readonly group: GroupReaderOptions) {
    super(group);
  }

  private get commands(): Redis {
    return this.group.commands;
  }

  protected override get describe(): string {
    return `group=${this.group.group} ${super.describe}`;
  }

  protected override async prepare(): Promise<void> {
    for (const key of this.keys) await ensureGroup(this.commands, key, this.group.group, this.group.startId);
    await this.recoverOwnPending();
    // An idle reader claims at once; a busy one claims at its next free slot, before reading new entries, so a
    // dead consumer's entries don't wait behind a backlog.
    this.every(this.group.claimInterval, async () => {
      if (this.queue.hasRoom) await this.claimAbandoned();
      else this.claimDue = true;
    });
    this.every(Math.max(50, Math.floor(this.group.minIdleTime / 3)), () => this.refreshInFlight());
    if (this.group.consumerIdleTimeout > 0) {
      this.every(Math.min(this.group.consumerIdleTimeout, 60_000), () => this.removeIdleConsumers());
    }
  }

  protected override async readOnce(): Promise<void> {
    if (this.claimDue) {
      this.claimDue = false;
      await this.claimAbandoned();
      if (!this.queue.hasRoom) return;
    }
    const { group, consumer } = this.group;
    const ids = this.keys.map(() => '>');
    const since = performance.now();
    try {
      const reply = await readGroup(
        this.redis,
        group,
        consumer,
        this.options.count,
        this.options.block,
        this.keys,
        ids,
      );
      if (reply) for (const [key, entries] of reply) this.queueEntries(key, entries, 1, since);
    } catch (err) {
      if (!isNoGroup(err) || this.closing) throw err;
      await this.recreateGroups();
    }
  }

  /**
   * The group or its stream vanished (DEL, eviction, a restart without persistence). It is recreated from `0`: what
   * is in the stream now was added after the loss and has not been seen by this group, so skipping it would lose it.
   */
  private async recreateGroups(): Promise<void> {
    for (const key of this.keys) {
      if (await ensureGroup(this.commands, key, this.group.group, '0')) {
        this.options.logger.warn?.(
          `Consumer group was missing and has been recreated from 0 (group=${this.group.group} stream=${key}).`,
        );
      }
    }
  }

  /**
   * Takes back the entries Redis delivered into a lost read: this consumer's pending entries that it doesn't hold or
   * retry. XCLAIM to itself counts the redelivery.
   */
  protected override async afterLostRead(): Promise<void> {
    const { group, consumer } = this.group;
    for (const key of this.keys) {
      const held = new Set(this.inFlight.items().flatMap((entry) => (entry.key === key ? [entry.id] : [])));
      let rows: [string][];
      try {
        rows = (await this.commands.call('XPENDING', key, group, '-', '+', 1000, consumer)) as [string][];
      } catch (err) {
        // The group went with the connection (a restart without persistence): nothing of it is pending any more, and
        // the next read recreates it.
        if (isNoGroup(err)) continue;
        throw err;
      }
      const lost = rows.map((row) => row[0]).filter((id) => !held.has(id) && !this.retrying.has(`${key} ${id}`));
      if (lost.length === 0) continue;
      const since = performance.now();
      const entries = (await this.commands.call('XCLAIM', key, group, consumer, 0, ...lost)) as RawEntry[];
      const counts = await deliveryCounts(this.commands, key, group, consumer, lost);
      this.options.logger.log?.(
        `Took back ${entries.length} entries delivered into a lost read (group=${group} stream=${key} consumer=${consumer}).`,
      );
      this.queueEntries(
        key,
        entries.filter((e) => e !== null),
        counts,
        since,
      );
    }
  }

  /** Re-reads this consumer's own pending entries (history id `0`), stream by stream, until none is left. */
  private async recoverOwnPending(): Promise<void> {
    const { group, consumer } = this.group;
    let keys = [...this.keys];
    let ids = keys.map(() => '0');
    while (keys.length > 0 && !this.closing) {
      await this.queue.waitForRoom();
      const since = performance.now();
      const reply = await readGroup(this.commands, group, consumer, this.options.count, undefined, keys, ids);
      const nextKeys: string[] = [];
      const nextIds: string[] = [];
      for (const [key, entries] of reply ?? []) {
        if (entries.length === 0) continue;
        const counts = await deliveryCounts(
          this.commands,
          key,
          group,
          consumer,
          entries.map((e) => e[0]),
        );
        this.queueEntries(key, entries, counts, since);
        nextKeys.push(key);
        nextIds.push(entries[entries.length - 1][0]);
      }
      keys = nextKeys;
      ids = nextIds;
    }
  }

  /** Queues entries, acking and reporting those whose body was trimmed away (never handed to a handler). */
  private queueEntries(
    key: string,
    entries: RawEntry[],
    deliveries: number | Map<string, number>,
    since: number,
  ): void {
    const trimmed: string[] = [];
    for (const [id, fields] of entries) {
      if (fields === null) {
        trimmed.push(id);
        continue;
      }
      const count = typeof deliveries === 'number' ? deliveries : (deliveries.get(id) ?? 1);
      // Every field set up front: one object shape for all entries.
      const entry: QueuedEntry = {
        key,
        id,
        fields,
        deliveries: count,
        since,
        lost: false,
        acked: false,
        done: undefined,
        slot: -1,
      };
      this.inFlight.add(entry);
      this.queue.push(entry);
    }
    if (trimmed.length > 0) {
      this.options.logger.warn?.(
        `Acked ${trimmed.length} pending entries whose bodies were trimmed or deleted, without running a handler ` +
          `(stream=${key} group=${this.group.group} consumer=${this.group.consumer} ids=${trimmed.slice(0, 10).join(',')}).`,
      );
      this.track(ack(this.commands, key, this.group.group, trimmed));
    }
  }

  protected override handle(entry: QueuedEntry, done: () => void): void {
    const sub = this.subscriptions.get(entry.key)!;
    entry.done = done;
    if (entry.lost) {
      // Another consumer took it over while it waited in the queue here (this process was paused): running it too
      // would be the concurrent duplicate that refreshing is meant to prevent.
      this.logEntry('warn', entry, 'not run here: another consumer took it over while it was queued');
      return this.finish(entry);
    }
    if (entry.deliveries > sub.maxDeliveries) {
      this.deadLetter(
        entry,
        sub,
        `Delivered ${entry.deliveries - 1} times without success (the consumers stopped or failed before finishing).`,
      );
      return this.finish(entry);
    }
    const decoded = this.decode(entry);
    if (typeof decoded === 'string') {
      this.deadLetter(entry, sub, `Undecodable entry: ${decoded}`);
      return this.finish(entry);
    }
    if (sub.ack === 'on-receipt') this.ack(entry);
    const info = new GroupEntryInfo(this, entry, sub.stream, this.group.group, this.group.consumer, decoded.headers);
    const started = this.options.observer ? performance.now() : 0;
    const context = new RedisStreamsContext([info]);
    if (sub.responder) {
      sub.responder.respond(sub.handler, decoded, context, ({ handlerError, replied }) => {
        this.report(entry, started, handlerError);
        if (replied) this.answered(entry, sub, info, handlerError);
        this.finish(entry);
      });
      return;
    }
    // One closure per entry: everything else it needs lives on the entry and its info.
    invokeHandler(sub.handler, decoded.data, context, (err) => this.completed(entry, sub, info, started, err));
  }

  private completed(
    entry: QueuedEntry,
    sub: StreamSubscription,
    info: RedisStreamsEntryInfo,
    started: number,
    err: unknown,
  ): void {
    this.report(entry, started, err);
    if (err === undefined) this.succeeded(entry, sub, info);
    else this.failed(entry, sub, err);
    this.finish(entry);
  }

  private finish(entry: QueuedEntry): void {
    this.inFlight.delete(entry);
    const done = entry.done;
    entry.done = undefined;
    done?.();
  }

  private report(entry: QueuedEntry, started: number, err: unknown): void {
    const observer = this.options.observer;
    if (!observer) return;
    const ref = { stream: entry.key, group: this.group.group, consumer: this.group.consumer, id: entry.id };
    if (err === undefined) observer.processed?.(ref, performance.now() - started);
    else observer.failed?.(ref, performance.now() - started, err);
  }

  /**
   * A request is acked once its reply is written, whatever the ack mode, and also when the handler failed: the caller
   * got the error as its answer, so retrying (and answering twice) would be wrong. Effects go with the ack on success.
   */
  private answered(
    entry: QueuedEntry,
    sub: StreamSubscription,
    info: RedisStreamsEntryInfo,
    handlerError: unknown,
  ): void {
    if (handlerError !== undefined)
      this.logEntry('log', entry, `request handler failed, error sent to the caller: ${describeError(handlerError)}`);
    if (entry.acked || entry.lost) return;
    if (handlerError === undefined && sub.ack === 'after-success') this.succeeded(entry, sub, info);
    else this.ack(entry);
  }

  private succeeded(entry: QueuedEntry, sub: StreamSubscription, info: RedisStreamsEntryInfo): void {
    if (sub.ack !== 'after-success' || entry.acked || entry.lost) return;
    const effects = info.effects?.pending;
    if (effects && effects.length > 0) {
      entry.acked = true;
      const { group, consumer } = this.group;
      this.track(
        ackWithEffects(this.commands, entry.key, group, consumer, entry.id, effects).then((applied) => {
          if (!applied) {
            this.logEntry(
              'warn',
              entry,
              'effects not applied: the entry was already acknowledged in this group, or another consumer owns it now',
            );
          }
        }),
        `ack with effects of id=${entry.id}`,
      );
    } else {
      this.ack(entry);
    }
  }

  private failed(entry: QueuedEntry, sub: StreamSubscription, err: unknown): void {
    const reason = describeError(err);
    const hint =
      reason === NEST_GENERIC_ERROR
        ? ' (Nest logged the error above; register RedisStreamsExceptionFilter to keep its message)'
        : '';
    this.logEntry(
      'error',
      entry,
      `handler failed (delivery ${entry.deliveries} of ${sub.maxDeliveries}): ${reason}${hint}`,
    );
    if (sub.ack === 'on-receipt' || entry.acked || entry.lost) return;
    if (entry.deliveries >= sub.maxDeliveries) this.deadLetter(entry, sub, reason);
    else this.scheduleRetry(entry, this.group.retryBackoff(entry.deliveries));
  }

  /** Takes the failed entry back after `delay` ms (XCLAIM raises its delivery count), unless someone else took it. */
  private scheduleRetry(entry: QueuedEntry, delay: number): void {
    const { group, consumer } = this.group;
    const retryKey = `${entry.key} ${entry.id}`;
    this.retrying.add(retryKey);
    this.after(
      delay,
      async () => {
        this.retrying.delete(retryKey);
        const since = performance.now();
        const claimed = await claimForRetry(
          this.commands,
          entry.key,
          group,
          consumer,
          Math.max(0, delay - 5),
          entry.id,
        );
        if (!claimed || claimed[1] === null || this.closing) return;
        const counts = await deliveryCounts(this.commands, entry.key, group, consumer, [entry.id]);
        this.queueEntries(entry.key, [claimed], counts, since);
      },
      `retry of stream=${entry.key} id=${entry.id}`,
    );
  }

  private deadLetter(entry: QueuedEntry, sub: StreamSubscription, reason: string): void {
    if (sub.deadLetterKey === false) {
      this.logEntry('error', entry, `${reason}; dead-lettering is off, so it stays pending`);
      return;
    }
    const deadKey = sub.deadLetterKey;
    const { group, consumer } = this.group;
    const fields = [
      DEAD_LETTER_FIELDS.stream,
      entry.key,
      DEAD_LETTER_FIELDS.id,
      entry.id,
      DEAD_LETTER_FIELDS.group,
      group,
      DEAD_LETTER_FIELDS.consumer,
      consumer,
      DEAD_LETTER_FIELDS.deliveries,
      String(entry.deliveries),
      DEAD_LETTER_FIELDS.reason,
      reason,
      DEAD_LETTER_FIELDS.at,
      new Date().toISOString(),
      ...entry.fields,
    ];
    entry.acked = true;
    this.track(
      moveToDeadLetter(this.commands, entry.key, deadKey, group, consumer, entry.id, fields).then((deadId) => {
        if (deadId === null) return this.logEntry('warn', entry, 'not dead-lettered: another consumer owns it now');
        this.logEntry('warn', entry, `moved to dead-letter stream ${deadKey} as ${deadId}: ${reason}`);
        this.group.onDeadLetter?.({
          stream: entry.key,
          id: entry.id,
          group,
          deadLetterKey: deadKey,
          deadLetterId: deadId,
          reason,
        });
        this.options.observer?.deadLettered?.({ stream: entry.key, group, consumer, id: entry.id }, deadKey, reason);
      }),
      `dead-letter move of id=${entry.id}`,
    );
  }

  /**
   * Buffers an ack; all acks of one turn of the event loop go out together, one call per stream and kind. An entry
   * that Redis can't have seen idle for half of `minIdleTime` can't have been claimed by a consumer of the group (they
   * claim only entries idle `minIdleTime`): a plain XACK is safe for it. Older ones go through the ownership check.
   */
  private ack(entry: QueuedEntry): void {
    entry.acked = true;
    const young = performance.now() - entry.since < this.group.minIdleTime / 2;
    const buffer = young ? this.youngAcks : this.ackBuffer;
    let ids = buffer.get(entry.key);
    if (!ids) buffer.set(entry.key, (ids = []));
    ids.push(entry.id);
    if (!this.ackFlushScheduled) {
      this.ackFlushScheduled = true;
      setImmediate(() => this.flushAcks());
    }
  }

  /** `ctx.ack()`: acknowledges now, if still this consumer's. */
  async ackNow(entry: QueuedEntry): Promise<void> {
    if (entry.acked) return;
    entry.acked = true;
    await ackOwned(this.commands, entry.key, this.group.group, this.group.consumer, [entry.id]);
  }

  private flushAcks(): void {
    this.ackFlushScheduled = false;
    const { group, consumer } = this.group;
    for (const [key, ids] of this.youngAcks) {
      if (ids.length === 0) continue;
      this.youngAcks.set(key, []);
      this.track(
        ack(this.commands, key, group, ids),
        `ack of ${ids.length} entries on ${key} (ids=${ids.slice(0, 10).join(',')})`,
      );
    }
    for (const [key, ids] of this.ackBuffer) {
      if (ids.length === 0) continue;
      this.ackBuffer.set(key, []);
      this.track(
        ackOwned(this.commands, key, group, consumer, ids),
        `ack of ${ids.length} entries on ${key} (ids=${ids.slice(0, 10).join(',')})`,
      );
    }
  }

  /** XAUTOCLAIM entries idle longer than `minIdleTime` (their consumer died or hangs) while there is room for them. */
  private async claimAbandoned(): Promise<void> {
    if (this.claiming || this.closing) return;
    this.claiming = true;
    const { group, consumer, minIdleTime } = this.group;
    try {
      for (const key of this.keys) {
        let cursor = '0-0';
        do {
          const room = this.queue.room;
          if (room === 0 || this.closing) break;
          const since = performance.now();
          const result = await autoClaim(
            this.commands,
            key,
            group,
            consumer,
            minIdleTime,
            cursor,
            Math.min(room, this.options.count),
          );
          cursor = result.cursor;
          if (result.deleted.length > 0) {
            this.options.logger.warn?.(
              `${result.deleted.length} pending entries had been trimmed away; Redis dropped them from the pending list ` +
                `(stream=${key} group=${group} consumer=${consumer} ids=${result.deleted.slice(0, 10).join(',')}).`,
            );
          }
          if (result.entries.length === 0) continue;
          const counts = await deliveryCounts(
            this.commands,
            key,
            group,
            consumer,
            result.entries.map((e) => e[0]),
          );
          this.options.logger.log?.(
            `Claimed ${result.entries.length} abandoned entries (group=${group} stream=${key} consumer=${consumer}).`,
          );
          this.options.observer?.claimed?.(key, group, consumer, result.entries.length);
          this.queueEntries(key, result.entries, counts, since);
        } while (cursor !== '0-0');
      }
    } catch (err) {
      if (isNoGroup(err)) await this.recreateGroups();
      else throw err;
    } finally {
      this.claiming = false;
    }
  }

  /** Resets the idle time of the entries held here; marks those another consumer has taken as lost (never acked). */
  private async refreshInFlight(): Promise<void> {
    const { group, consumer } = this.group;
    if (this.inFlight.size === 0) return;
    const byKey = new Map<string, Map<string, QueuedEntry>>();
    for (const entry of this.inFlight.items()) {
      let entries = byKey.get(entry.key);
      if (!entries) byKey.set(entry.key, (entries = new Map<string, QueuedEntry>()));
      entries.set(entry.id, entry);
    }
    for (const [key, entries] of byKey) {
      const ids = [...entries.keys()];
      for (let i = 0; i < ids.length; i += 500) {
        const since = performance.now();
        const batch = ids.slice(i, i + 500);
        const lost = await refreshOwned(this.commands, key, group, consumer, batch);
        const lostSet = new Set(lost);
        for (const id of batch) {
          const entry = entries.get(id);
          if (entry && !lostSet.has(id) && entry.since < since) entry.since = since;
        }
        for (const id of lost) {
          const entry = entries.get(id);
          if (!entry || entry.acked) continue;
          entry.lost = true;
          this.logEntry(
            'warn',
            entry,
            'another consumer took this entry over while it was held here; it will not be acked here',
          );
        }
      }
    }
  }

  /** Removes consumers of the group that have nothing pending and were idle longer than `consumerIdleTimeout`. */
  private async removeIdleConsumers(): Promise<void> {
    const { group, consumer, consumerIdleTimeout } = this.group;
    for (const key of this.keys) {
      for (const other of await groupConsumers(this.commands, key, group)) {
        if (other.name === consumer || other.pending > 0 || other.idle < consumerIdleTimeout) continue;
        if (await deleteIdleConsumer(this.commands, key, group, other.name, consumerIdleTimeout)) {
          this.options.logger.log?.(
            `Removed idle consumer ${other.name} with nothing pending (group=${group} stream=${key}).`,
          );
        }
      }
    }
  }

  /**
   * Stops reading, waits up to `timeout` ms for running handlers, acks what finished, and leaves the rest pending for
   * recovery. Then removes this consumer from its groups if (and only if) it holds nothing pending.
   */
  async close(timeout: number): Promise<void> {
    this.closing = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await this.stopReading();
    const queued = this.queue.takeQueued();
    for (const entry of queued) this.inFlight.delete(entry);
    if (!(await this.queue.drain(timeout))) {
      this.options.logger.warn?.(
        `Handlers still running after ${timeout} ms (${this.describe}); their entries stay pending.`,
      );
    }
    this.flushAcks();
    // Redis may be unreachable: what isn't written by then stays pending and is recovered later.
    const written = await withTimeout(Promise.allSettled([...this.writes]), timeout);
    if (!written) {
      this.options.logger.warn?.(
        `Acks not confirmed by Redis within ${timeout} ms (${this.describe}); those entries stay pending.`,
      );
      return;
    }
    for (const key of this.keys) {
      await withTimeout(
        deleteIdleConsumer(this.commands, key, this.group.group, this.group.consumer, 0),
        timeout,
      ).catch(() => false);
    }
  }

  private every(interval: number, task: () => Promise<void>): void {
    if (interval <= 0) return;
    const run = (): void => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        task()
          .catch((err: unknown) => {
            this.options.logger.warn?.(`Background task failed (${this.describe}): ${describeError(err)}`);
          })
          .finally(() => {
            if (!this.closing) run();
          });
      }, interval);
      timer.unref();
      this.timers.add(timer);
    };
    run();
  }

  private after(delay: number, task: () => Promise<void>, what = 'retry'): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.closing) return;
      this.track(task(), what);
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  /** Keeps a Redis write in view until it settles (close waits for it) and logs its failure. */
  private track(write: Promise<unknown>, what = 'write'): void {
    const tracked = write.catch((err: unknown) => {
      if (isNoGroup(err)) return this.recreateGroups();
      this.options.logger.error(`Redis ${what} failed (${this.describe}): ${describeError(err)}`);
    });
    this.writes.add(tracked);
    void tracked.finally(() => this.writes.delete(tracked));
  }

  private logEntry(level: 'log' | 'warn' | 'error', entry: QueuedEntry, message: string): void {
    const line = `[stream=${entry.key} group=${this.group.group} consumer=${this.group.consumer} id=${entry.id}] ${message}`;
    if (level === 'error') this.options.logger.error(line);
    else this.options.logger[level]?.(line);
  }
}

/** The `@Ctx()` data of a group entry; a class, so `ack()` needs no closure per entry. */
class GroupEntryInfo implements RedisStreamsEntryInfo {
  readonly key: string;
  readonly id: string;
  readonly deliveryCount: number;
  effects?: RedisEffects;

  constructor(
    private readonly reader: GroupReader,
    private readonly entry: QueuedEntry,
    readonly stream: string,
    readonly group: string,
    readonly consumer: string,
    readonly headers: StreamHeaders,
  ) {
    this.key = entry.key;
    this.id = entry.id;
    this.deliveryCount = entry.deliveries;
  }

  ack(): Promise<void> {
    return this.reader.ackNow(this.entry);
  }
}
