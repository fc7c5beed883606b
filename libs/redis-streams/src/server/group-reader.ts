import type { Redis } from 'ioredis';
import { RedisStreamsContext } from '../ctx-host/redis-streams.context.js';
import type { RetryBackoff } from '../interfaces/redis-streams-options.interface.js';
import { readFenced } from '../partitions/fenced-read.js';
import { takeOverPending } from '../partitions/partition-leases.js';
import {
  deleteIdleConsumer,
  isNoGroup,
  loadInOrderScripts,
  readGroup,
  type RawEntry,
  type RawStreamBatch,
} from '../redis/stream-commands.js';
import { EntryLedger } from './entry-ledger.js';
import { type DeadLetterEvent, EntryWrites } from './entry-writes.js';
import { type DeadLetterSource, afterFailure } from './failure-policy.js';
import { GroupEntryInfo, type EntryOutcomes } from './group-entry-info.js';
import { GroupMaintenance } from './group-maintenance.js';
import { GroupSources } from './group-sources.js';
import { describeError, invokeHandler } from './handler-invoker.js';
import { StreamReader, type StreamReaderOptions, isDecodeFailure, sleep, withTimeout } from './stream-reader.js';
import type { QueuedEntry, StreamSubscription } from './subscription.js';
import { WriteTracker } from './write-tracker.js';

/** What Nest's exception layer makes of an error that isn't an RpcException. */
const NEST_GENERIC_ERROR = 'Internal server error';
/** How long `close()` gives the last acks (and the consumer's removal) after handlers stopped. */
const CLOSE_WRITES_MS = 2000;
/** How often an entry of a partition whose lease is in doubt checks again whether it may start. */
const LEASE_CHECK_MS = 100;

/** What the reader of an owned partition knows of its lease (see `PartitionOwner`). */
export interface PartitionReading {
  /** The lease's key, and the token of this acquisition: reads check it in Redis (`readFenced`). */
  lease: string;
  token: string;
  /** Whether the lease is surely still held here; an entry starts only then (another owner may be running it). */
  isHeld: () => boolean;
}

export type { DeadLetterEvent };

export interface GroupReaderOptions extends StreamReaderOptions {
  group: string;
  startId: string;
  minIdleTime: number;
  claimInterval: number;
  retryBackoff: RetryBackoff;
  consumerIdleTimeout: number;
  /** Told about entries moved to a dead-letter stream. */
  onDeadLetter?: (event: DeadLetterEvent) => void;
  /**
   * Set for the reader of an owned partition: its reads are fenced by the partition's lease, every ack checks
   * ownership, and a failed entry blocks the partition until it succeeds or is dead-lettered (per-key order).
   */
  partition?: PartitionReading;
}

/**
 * Reads one consumer group over one or more streams with XREADGROUP, feeding one bounded queue from its sources (own
 * pending entries first, then new ones, abandoned ones and due retries). The ledger knows which held entries are
 * still this consumer's; the failure policy decides between a retry and the dead-letter stream.
 */
export class GroupReader extends StreamReader implements EntryOutcomes {
  private readonly writes: WriteTracker;
  private readonly ledger: EntryLedger;
  private readonly sources: GroupSources;
  private readonly maintenance: GroupMaintenance;
  /** The writes that end an entry (effects, dead letters) and its log lines. */
  private readonly out: EntryWrites;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private fenced = false;
  /**
   * A partition's order may have been broken (an ack failed or was refused, a read was lost, the connection came
   * back): nothing more starts until its running entry ended; then its own pending entries are read again, oldest
   * first, from `replayFrom` on, before anything newer.
   */
  private outOfOrder = false;
  private replayFrom?: string;
  /** The replay step under way: one at a time, also when the read loop's watchdog gave up on one. */
  private replaying?: Promise<void>;
  /** What a replay waits for before it reads: no handler running (one waiter however often the loop asks). */
  private untilIdle?: Promise<void>;

  constructor(private readonly group: GroupReaderOptions) {
    super(group);
    const { commands, consumer, minIdleTime, logger } = group;
    this.writes = new WriteTracker(
      (message) => {
        logger.error(`${message} (${this.describe})`);
        // A write that failed (a connection lost, a failover under way) may have taken others' refreshes with it.
        this.maintenance.holdOffClaims();
      },
      () => this.recreateGroups(),
    );
    this.ledger = new EntryLedger({
      commands,
      group: group.group,
      consumer,
      minIdleTime,
      writes: this.writes,
      checkEveryAck: group.partition !== undefined,
      recreateGroup: () => this.recreateGroups(),
      onLost: (entry) => this.lost(entry),
      onOutOfOrder: group.partition ? (why) => this.breakOrder(why) : undefined,
    });
    this.out = new EntryWrites({ ...group, ledger: this.ledger, writes: this.writes });
    const isClosing = (): boolean => this.closing;
    this.sources = new GroupSources({
      ...group,
      keys: this.keys,
      ledger: this.ledger,
      queue: this.queue,
      isClosing,
      delivered: (key, id) => this.maintenance.delivered(key, id),
    });
    this.maintenance = new GroupMaintenance({
      ...group,
      keys: this.keys,
      ledger: this.ledger,
      sources: this.sources,
      queue: this.queue,
      isClosing,
    });
  }

  /**
   * The shared connection reconnected: Redis may have restarted and lost the last refreshes (AOF fsyncs each second).
   * A Cluster says 'ready' only when it reconnects as a whole; a master that dies or restarts (its replica promoted
   * without the last writes) ends that node's connection alone ('-node').
   */
  private readonly onReconnect = (): void => {
    this.ledger.markStale();
    this.maintenance.holdOffClaims();
    // Acks sent before may be lost (a restart, a failover): a partition's later entries must not overtake them.
    this.breakOrder('the connection to Redis came back');
  };

  /**
   * The shared connection closed: a claim started while it is down waits in ioredis's offline queue, which is sent on
   * reconnect before anyone's refreshes could be, so none is started until `onReconnect` (and minIdleTime) has passed.
   */
  private readonly onDisconnect = (): void => this.maintenance.holdOffClaims();

  private get commands(): Redis {
    return this.group.commands;
  }

  protected override get describe(): string {
    return `group=${this.group.group} ${super.describe}`;
  }

  protected override async prepare(): Promise<void> {
    this.commands.on('ready', this.onReconnect);
    this.commands.on('-node', this.onReconnect);
    this.commands.on('close', this.onDisconnect);
    // A Cluster's node connection that fails (its master killed) says so before '-node', which waits for a new slot map.
    this.commands.on('node error', this.onDisconnect);
    await this.settle('creating its consumer groups', () => this.maintenance.ensureGroups());
    if (this.ordered) await this.settle('loading its scripts', () => this.loadInOrderScripts());
    // Upkeep first: the entries recovery takes are kept fresh while it goes on.
    this.maintenance.start();
    await this.settle('recovering its pending entries', () => this.sources.recoverOwnPending());
  }

  protected override beforeRead(): Promise<void> {
    return this.maintenance.claimIfDue();
  }

  protected override async readOnce(): Promise<void> {
    if (this.outOfOrder || this.replayFrom !== undefined) {
      this.replaying ??= this.replay().finally(() => (this.replaying = undefined));
      return this.replaying;
    }
    const since = performance.now();
    try {
      const reply = await this.read();
      if (!reply) return;
      for (const [key, entries] of reply) {
        if (entries.length === 0) continue;
        // Entries after the newest one known delivered are new, so none can be held here. One at or before it was
        // delivered again: the group was moved back (a forced reset) or recreated lower (by another process).
        const again = this.maintenance.deliveredUpTo(key, entries[0][0]);
        this.maintenance.delivered(key, entries[entries.length - 1][0]);
        const held = again ? this.heldAgain(key, entries, since) : this.ledger.hold(key, entries, 1, since);
        for (const entry of held) if (!this.queue.push(entry)) this.ledger.release(entry);
      }
    } catch (err) {
      if (!isNoGroup(err) || this.closing) throw err;
      await this.recreateGroups();
    }
  }

  /** Recreates a vanished group; on a partition, its own pending entries are then read again before new ones. */
  private async recreateGroups(): Promise<void> {
    await this.maintenance.recreateGroups();
    this.breakOrder('its group was recreated');
  }

  private loadInOrderScripts(): Promise<void> {
    return loadInOrderScripts(this.commands, this.keys[0], this.group.group, this.group.consumer);
  }

  /** On a partition: starts nothing more of what is queued, and reads its own pending entries again first. */
  private breakOrder(why: string): void {
    if (!this.ordered || this.closing) return;
    if (!this.outOfOrder) {
      const head = this.commands.call('XPENDING', this.keys[0], this.group.group, '-', '+', 1) as Promise<unknown[][]>;
      void head
        .then(
          ([first]) => (first ? `; the oldest pending entry is ${String(first[0])} (with ${String(first[1])})` : ''),
          () => '',
        )
        .then((oldest) => {
          this.options.logger.warn?.(
            `Partition order may be broken (${this.describe}: ${why}${oldest}): its own pending entries are read ` +
              `again, in order, before anything newer runs.`,
          );
        });
    }
    this.outOfOrder = true;
  }

  /**
   * A partition's replay of its own pending entries, in the read loop's place: first waits until nothing runs (what was
   * queued is given back as it comes up, see `handle`) and the acks sent have settled, then takes them a queue's room
   * at a time, oldest first, until none are left; new entries are read after that.
   */
  private async replay(): Promise<void> {
    if (this.outOfOrder) {
      this.untilIdle ??= this.queue.whenIdle().finally(() => (this.untilIdle = undefined));
      if (!(await withTimeout(this.untilIdle, this.options.block))) return;
      this.ledger.flushAcks();
      await this.writes.settle(CLOSE_WRITES_MS);
      await this.loadInOrderScripts(); // a restarted or promoted Redis has forgotten them
      // Entries of the partition pending with another consumer (an operator's claim, a takeover that failed half-way)
      // would hold back every later ack: under the lease they are this reader's to run.
      const { partition, group, consumer } = this.group;
      const taken = await takeOverPending(
        this.commands,
        this.keys[0],
        partition!.lease,
        partition!.token,
        group,
        consumer,
      );
      if (taken === 'fenced') return this.loseLease();
      this.outOfOrder = false;
      this.replayFrom = '-';
    }
    if (!this.queue.hasRoom) return;
    this.replayFrom = await this.sources.replayOwn(this.keys[0], this.replayFrom!);
  }

  /** Holds what `>` delivered again; an entry still held here is not run a second time (see `holdRedelivered`). */
  private heldAgain(key: string, entries: RawEntry[], since: number): QueuedEntry[] {
    const { held, already } = this.ledger.holdRedelivered(key, entries, since);
    for (const entry of already) {
      this.out.log(
        'warn',
        entry,
        'delivered again (the group was moved back or recreated) while held here: not run twice',
      );
    }
    return held;
  }

  private async read(): Promise<RawStreamBatch[] | null> {
    const { group, consumer, partition } = this.group;
    const { count, block } = this.options;
    const newEntries = this.keys.map(() => '>');
    if (!partition) return readGroup(this.redis, group, consumer, count, block, this.keys, newEntries);
    const { lease, token } = partition;
    const reply = await readFenced(this.redis, this.keys[0], { group, consumer, count, block, lease, token });
    if (reply !== 'fenced') return reply;
    await this.loseLease();
    return null;
  }

  private async loseLease(): Promise<void> {
    if (!this.fenced) this.options.logger.warn?.(`Lost the lease (${this.describe}): reading nothing more here.`);
    this.fenced = true;
    await sleep(Math.min(this.options.block, 1000)); // until the partition's owner notices and closes this reader
  }

  protected override async afterLostRead(): Promise<void> {
    // A partition's lost read may have delivered entries that overtake nothing yet: its replay takes them in order.
    if (this.ordered) this.breakOrder('a read was lost with its connection');
    else await this.sources.takeBackLostRead();
  }

  protected override handle(entry: QueuedEntry, done: () => void, rechecked = false): void {
    const sub = this.subscriptions.get(entry.key)!;
    entry.done = done;
    // Left pending for the partition's replay, which takes it again in its place.
    if (this.outOfOrder) return this.finish(entry);
    if (!rechecked && !entry.lost && performance.now() - entry.since >= this.group.minIdleTime) {
      // Not refreshed for minIdleTime (this process was paused, or the connection came back): another consumer may
      // have claimed it meanwhile. A refresh says whether it is still this consumer's before it runs.
      void this.ledger
        .refreshNow()
        .catch(() => undefined) // Redis unreachable: run it (at-least-once); its ack checks ownership anyway
        .then(() => (this.closing ? this.finish(entry) : this.handle(entry, done, true)))
        .catch((err: unknown) => {
          this.options.logger.error(`Could not start an entry (${this.describe}): ${describeError(err)}`);
        });
      return;
    }
    if (entry.lost) {
      // Another consumer took it over while it waited in the queue here (this process was paused): running it too
      // would be the concurrent duplicate that refreshing is meant to prevent.
      this.out.log('warn', entry, 'not run here: another consumer took it over while it was queued');
      return this.finish(entry);
    }
    if (this.group.partition?.isHeld() === false) return this.awaitLease(entry);
    // In order with dead-lettering off, an entry is never given up: left pending, the next ones would overtake it (its
    // retries, and a takeover's recovery, raise its count past the cap).
    if (entry.deliveries > sub.maxDeliveries && !(this.ordered && sub.deadLetterKey === false)) {
      const reason = `Delivered ${entry.deliveries - 1} times without success (the consumers stopped or failed before finishing).`;
      return this.deadLettered(entry, sub, reason);
    }
    // An entry delivered before failed or was abandoned there: evidence toward an outage, until a success.
    if (entry.deliveries > 1) this.countFailing(entry, sub);
    const decoded = this.decode(entry);
    if (isDecodeFailure(decoded)) return this.deadLettered(entry, sub, decoded.reason, decoded.tooLarge);
    if (sub.ack === 'on-receipt') this.ledger.ack(entry);
    const info = new GroupEntryInfo(this, entry, sub, this.group.group, this.group.consumer, decoded.headers);
    const started = this.options.observer ? performance.now() : 0;
    const context = new RedisStreamsContext([info]);
    if (sub.responder) {
      sub.responder.respond(sub.handler, decoded, context, ({ handlerError, replied }) => {
        this.report(entry, started, handlerError);
        if (replied) this.answered(entry, sub, info, handlerError);
        // Unanswered, a partition's request keeps its place and runs again after the backoff (see `deadLettered`).
        if (!replied && this.ordered && !this.closing) return this.scheduleRetry(entry, this.backoff(entry));
        this.finish(entry);
      });
      return;
    }
    // One closure per entry: everything else it needs lives on the entry and its info.
    invokeHandler(sub.handler, decoded.data, context, (err) => this.completed(entry, sub, info, started, err));
  }

  /**
   * Moves an entry to its dead-letter stream and finishes it; on a partition only once the move is written, so the
   * partition's next entry never starts before this one is settled.
   */
  private deadLettered(
    entry: QueuedEntry,
    sub: StreamSubscription,
    reason: string,
    tooLarge?: { bytes: number },
  ): void {
    const moved = this.out.deadLetter(entry, sub, { ...this.source, reason, tooLarge });
    if (!this.ordered) return this.finish(entry);
    // A partition's entry is never left behind unsettled: the next ones' acks would wait for it. With dead-lettering
    // off it keeps its place and is tried again after the backoff (it blocks its partition, as a failing one does).
    if (sub.deadLetterKey === false && !this.closing) return this.scheduleRetry(entry, this.backoff(entry));
    void moved.then(() => this.finish(entry));
  }

  private backoff(entry: QueuedEntry): number {
    return this.group.retryBackoff(Math.max(1, entry.deliveries));
  }

  private get source(): Omit<DeadLetterSource, 'reason'> {
    return { group: this.group.group, consumer: this.group.consumer };
  }

  private completed(
    entry: QueuedEntry,
    sub: StreamSubscription,
    info: GroupEntryInfo,
    started: number,
    err: unknown,
  ): void {
    this.report(entry, started, err);
    if (err === undefined) {
      if (!this.succeeded(entry, sub, info)) return; // a partition's manual entry waits for ctx.ack()
    } else if (!this.failed(entry, sub, err)) return; // held for its retry, or finished by its dead-letter move
    this.finish(entry);
  }

  private finish(entry: QueuedEntry): void {
    this.ledger.release(entry);
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
  private answered(entry: QueuedEntry, sub: StreamSubscription, info: GroupEntryInfo, handlerError: unknown): void {
    if (handlerError !== undefined)
      this.out.log('log', entry, `request handler failed, error sent to the caller: ${describeError(handlerError)}`);
    if (handlerError === undefined && sub.ack === 'after-success') this.succeeded(entry, sub, info);
    else this.ledger.ack(entry);
  }

  /** Returns whether the caller finishes the entry (false: a partition's manual entry waits for `ctx.ack()`). */
  private succeeded(entry: QueuedEntry, sub: StreamSubscription, info: GroupEntryInfo): boolean {
    sub.failingSinceSuccess = 0;
    const effects = info.effects?.pending;
    if (sub.ack === 'manual') {
      if (!entry.acked && this.ordered && !entry.lost && !this.closing) {
        // On a partition the next entry starts only once this one is acknowledged.
        this.out.log('warn', entry, 'handler returned without ctx.ack(): its partition waits for it');
        entry.awaitingAck = true;
        return false;
      }
      if (!entry.acked && effects && effects.length > 0) {
        this.out.log(
          'error',
          entry,
          `handler declared ${effects.length} effects but never called ctx.ack(): they are not applied, and the entry stays pending`,
        );
      }
      return true;
    }
    if (sub.ack !== 'after-success' || entry.acked || entry.lost) return true;
    if (effects && effects.length > 0) void this.out.applyEffects(entry, info).catch(() => undefined);
    else this.ledger.ack(entry);
    return true;
  }

  /**
   * Returns whether the caller finishes the entry (false: it stays held for its retry, or its dead-letter move
   * finishes it).
   */
  private failed(entry: QueuedEntry, sub: StreamSubscription, err: unknown): boolean {
    const reason = describeError(err);
    const hint =
      reason === NEST_GENERIC_ERROR
        ? ' (Nest logged the error above; register RedisStreamsExceptionFilter to keep its message)'
        : '';
    this.out.log(
      'error',
      entry,
      `handler failed (delivery ${entry.deliveries} of ${sub.maxDeliveries}): ${reason}${hint}`,
    );
    if (sub.ack === 'on-receipt' || entry.acked || entry.lost) return true;
    this.countFailing(entry, sub);
    const next = afterFailure(entry, sub, this.group.retryBackoff, this.ordered);
    if (next.kind === 'dead-letter') {
      this.deadLettered(entry, sub, reason);
      return false; // finished by deadLettered
    }
    if (next.kind === 'leave-pending')
      this.out.log('error', entry, `${reason}; dead-lettering is off, so it stays pending`);
    if (next.kind !== 'retry') return true;
    if (next.resetCount !== undefined) {
      this.out.log(
        'warn',
        entry,
        `reached maxDeliveries, but ${sub.failingSinceSuccess} different entries have failed since this handler last ` +
          `succeeded (an outage?): kept, retried in ${next.delay} ms, not dead-lettered`,
      );
      // Also while closing: left at the cap, the next consumer would dead-letter it unrun.
      this.writes.track(this.ledger.setDeliveryCount(entry, next.resetCount), `count reset of id=${entry.id}`);
    }
    if (this.closing) return true; // left pending, for this consumer's next run or another consumer
    this.scheduleRetry(entry, next.delay);
    return false;
  }

  private countFailing(entry: QueuedEntry, sub: StreamSubscription): void {
    if (entry.failedSince) return;
    entry.failedSince = performance.now();
    sub.failingSinceSuccess++;
  }

  /** A partition's entries are handled one at a time in stream order, failed ones included. */
  private get ordered(): boolean {
    return this.group.partition !== undefined;
  }

  /**
   * Keeps the failed entry held (and fresh) and counted toward the bound until its retry is due. In order (a
   * partition), it keeps its place in the work queue too: nothing after it starts before it succeeds or is
   * dead-lettered.
   */
  private scheduleRetry(entry: QueuedEntry, delay: number): void {
    const { group, consumer } = this.group;
    this.options.observer?.retryScheduled?.({ stream: entry.key, group, consumer, id: entry.id }, delay);
    if (!this.ordered) {
      const done = entry.done;
      entry.done = undefined;
      this.queue.reserve();
      done?.();
    }
    this.later(entry, delay, () => {
      const retried = entry.lost ? Promise.resolve(false) : this.retryRegrouped(entry);
      this.writes.track(
        retried.then(
          (owned) => this.retried(entry, owned),
          (err: unknown) => {
            this.retried(entry, false);
            throw err;
          },
        ),
        `retry of stream=${entry.key} id=${entry.id}`,
      );
    });
  }

  /** Runs `then` in `delay` ms, the entry held and waiting meanwhile (`entry.retry`; `close()` and `lost` cancel it). */
  private later(entry: QueuedEntry, delay: number, then: () => void): void {
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      entry.retry = undefined;
      then();
    }, delay);
    timer.unref();
    entry.retry = timer;
    this.retryTimers.add(timer);
  }

  /** The retry's claim; if the group vanished meanwhile, recreates it (the entry is held: it gets its record back). */
  private async retryRegrouped(entry: QueuedEntry): Promise<boolean> {
    try {
      return await this.sources.retry(entry);
    } catch (err) {
      if (!isNoGroup(err) || this.closing) throw err;
      await this.recreateGroups();
      return this.sources.retry(entry);
    }
  }

  private retried(entry: QueuedEntry, owned: boolean): void {
    const again = owned && !entry.lost && !this.closing;
    if (this.ordered) {
      if (again && entry.done) this.handle(entry, entry.done);
      else this.finish(entry); // in Redis it stays pending for whoever owns the partition now
      return;
    }
    this.queue.unreserve();
    if (again && this.queue.push(entry)) return;
    // Not ours any more, or closing: it stays pending in Redis for whoever owns it.
    this.ledger.release(entry);
  }

  /**
   * Holds a partition's entry, in its place, until the lease is confirmed again (then it starts), the entry is lost to
   * the partition's new owner, or this reader closes (then it stays pending for that owner).
   */
  private awaitLease(entry: QueuedEntry): void {
    this.later(entry, LEASE_CHECK_MS, () => entry.done && this.handle(entry, entry.done));
  }

  /** `ctx.ack()`: acknowledges now, with the declared effects, if still this consumer's. */
  async ackNow(entry: QueuedEntry, info: GroupEntryInfo): Promise<void> {
    try {
      await this.out.applyEffects(entry, info);
    } finally {
      if (entry.awaitingAck) {
        entry.awaitingAck = false;
        this.finish(entry);
      }
    }
  }

  private lost(entry: QueuedEntry): void {
    this.out.log(
      'warn',
      entry,
      'another consumer took this entry over while it was held here; it will not be acked here',
    );
    if (entry.retry === undefined) return;
    clearTimeout(entry.retry);
    this.retryTimers.delete(entry.retry);
    entry.retry = undefined;
    this.retried(entry, false);
  }

  /** Whether no handler of this reader runs (a partition's owner gives its lease back only then). */
  get idle(): boolean {
    return this.queue.idle;
  }

  /** Resolves once no handler runs and the acks they made were written (or failed). */
  async quiesced(): Promise<void> {
    await this.queue.whenIdle();
    this.ledger.flushAcks();
    await this.writes.settle(CLOSE_WRITES_MS);
  }

  /**
   * Stops reading and starts nothing more; waits up to `timeout` ms for running handlers (held entries stay fresh
   * meanwhile), acks what finished, and leaves the rest pending for recovery. Then removes this consumer from its
   * groups if (and only if) it holds nothing pending. Returns within `timeout` + about 3 s, whatever Redis does.
   */
  async close(timeout: number): Promise<void> {
    this.closing = true;
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    const queued = await this.stopReading();
    for (const entry of queued) {
      // A partition's queued entries never reached a handler here: their next owner's recovery counts its own delivery
      // of them, so this one is taken back; else a few hand-offs (a rolling deploy) dead-letter entries never run.
      if (this.ordered && !entry.lost && !entry.acked && entry.deliveries > 0) {
        this.writes.track(this.ledger.setDeliveryCount(entry, entry.deliveries - 1), `count reset of id=${entry.id}`);
      }
      this.ledger.release(entry);
    }
    for (const entry of this.ledger.entries()) {
      if (entry.retry === undefined) continue;
      entry.retry = undefined;
      this.finish(entry); // also gives back the place an ordered retry kept in the work queue
    }
    if (!(await this.queue.drain(timeout))) {
      this.options.logger.warn?.(
        `Handlers still running after ${timeout} ms (${this.describe}); their entries stay pending.`,
      );
    }
    this.maintenance.stop();
    this.commands.off('ready', this.onReconnect);
    this.commands.off('-node', this.onReconnect);
    this.commands.off('close', this.onDisconnect);
    this.commands.off('node error', this.onDisconnect);
    this.ledger.flushAcks();
    // Redis may be unreachable: what isn't written by then stays pending and is recovered later.
    if (!(await this.writes.settle(CLOSE_WRITES_MS))) {
      this.options.logger.warn?.(
        `Acks not confirmed by Redis within ${CLOSE_WRITES_MS} ms (${this.describe}); those entries stay pending.`,
      );
      return;
    }
    const { group, consumer } = this.group;
    const removals = this.keys.map((key) => deleteIdleConsumer(this.commands, key, group, consumer, 0));
    await withTimeout(Promise.allSettled(removals), 1000);
  }
}
