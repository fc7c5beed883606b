import type { Redis } from 'ioredis';
import { type ClaimedEntry, claimOwn, reassertHeld, refreshOwned } from '../redis/claim-commands.js';
import {
  ack,
  ackOwned,
  isNoGroup,
  ackWithEffects,
  type EffectsOutcome,
  moveToDeadLetter,
  type RawEntry,
  type RedisEffect,
} from '../redis/stream-commands.js';
import { SlotSet } from './slot-set.js';
import type { QueuedEntry } from './subscription.js';
import type { WriteTracker } from './write-tracker.js';

/** Ids sent to one refresh script at most. */
const REFRESH_BATCH = 500;

export interface LedgerOptions {
  commands: Redis;
  group: string;
  consumer: string;
  minIdleTime: number;
  writes: WriteTracker;
  /** Check ownership in every ack, young entries' too (a partition's: a new owner takes them over without waiting). */
  checkEveryAck: boolean;
  /** Recreates the group after a NOGROUP (an operator's XGROUP DESTROY, a restart without persistence). */
  recreateGroup: () => Promise<void>;
  /** Told about an entry that another consumer took over while it was held here. */
  onLost: (entry: QueuedEntry) => void;
  /**
   * Set for a partition's ledger: its acks (and effects, and dead-letter moves) count only in stream order
   * (`ack-in-order-1`), and it is told when one failed or was refused, since the entries after it may then have run
   * before it is done.
   */
  onOutOfOrder?: (why: string) => void;
}

/**
 * The entries this consumer holds in one group, queued, running or waiting for a retry: the one place that knows
 * which are still its own. It keeps them fresh (so no other consumer claims them while they are held), and acks them,
 * applies their effects or dead-letters them only while they are still its own.
 */
export class EntryLedger {
  private readonly held = new SlotSet<QueuedEntry>();
  private readonly ownedAcks = new Map<string, string[]>();
  /** Acks of entries too young to have been claimed by anyone (see `ack`). */
  private readonly youngAcks = new Map<string, string[]>();
  private flushScheduled = false;
  private refreshing?: Promise<void>;
  private nextRefresh?: Promise<void>;

  constructor(private readonly options: LedgerOptions) {}

  get size(): number {
    return this.held.size;
  }

  /** Holds entries delivered to this consumer; `since` is when the delivering command was sent. */
  hold(key: string, entries: readonly RawEntry[], deliveries: number, since: number): QueuedEntry[] {
    const out: QueuedEntry[] = [];
    for (const [id, fields] of entries) if (fields !== null) out.push(this.add(key, id, fields, deliveries, since));
    return out;
  }

  /**
   * Holds entries that `XREADGROUP >` delivered although the group may have delivered them before (it was moved back
   * by a forced reset, or recreated lower by another process after an XGROUP DESTROY). Redis moved each one to this
   * consumer and set its delivery count to 1. One still held here (queued, running or waiting for its retry) is not
   * held twice, so it does not run again at once; it gets its count back (unless already acked: then the new record is
   * a new delivery, claimed once it is idle). Returns the entries held now, and those that were held already.
   */
  holdRedelivered(
    key: string,
    entries: readonly RawEntry[],
    since: number,
  ): { held: QueuedEntry[]; already: QueuedEntry[] } {
    const known = this.byKey().get(key);
    const held: QueuedEntry[] = [];
    const already: QueuedEntry[] = [];
    for (const [id, fields] of entries) {
      const entry = known?.get(id);
      if (!entry) {
        if (fields !== null) held.push(this.add(key, id, fields, 1, since));
        continue;
      }
      already.push(entry);
      if (!entry.acked && entry.deliveries !== 1) {
        this.options.writes.track(this.setDeliveryCount(entry, entry.deliveries), `count reset of id=${id}`);
      }
    }
    return { held, already };
  }

  /**
   * Holds claimed entries. One already held here (its own XAUTOCLAIM took it after an event-loop stall longer than
   * `minIdleTime`) stays as it is, and gets its delivery count back: that claim was no delivery.
   */
  holdClaimed(key: string, entries: readonly ClaimedEntry[], since: number): QueuedEntry[] {
    const known = this.byKey().get(key);
    const out: QueuedEntry[] = [];
    for (const { id, fields, deliveries } of entries) {
      const held = known?.get(id);
      if (held && deliveries > held.deliveries) {
        const what = `count reset of id=${id}`;
        this.options.writes.track(this.setDeliveryCount(held, held.deliveries), what);
      }
      if (fields !== null && !held) out.push(this.add(key, id, fields, deliveries, since));
    }
    return out;
  }

  private add(key: string, id: string, fields: string[], deliveries: number, since: number): QueuedEntry {
    // Every field set up front: one object shape for all entries.
    const entry: QueuedEntry = {
      key,
      id,
      fields,
      deliveries,
      since,
      lost: false,
      acked: false,
      deleted: false,
      failedSince: 0,
      retry: undefined,
      awaitingAck: false,
      done: undefined,
      slot: -1,
    };
    this.held.add(entry);
    return entry;
  }

  /**
   * After the shared connection came back (Redis may have restarted and lost its last writes, refreshes included),
   * nothing held here counts as fresh until a refresh has confirmed it.
   */
  markStale(): void {
    for (const entry of this.held.items()) entry.since = Number.NEGATIVE_INFINITY;
  }

  release(entry: QueuedEntry): void {
    this.held.delete(entry);
  }

  /** The ids held here of one stream. */
  heldIds(key: string): Set<string> {
    const ids = new Set<string>();
    for (const entry of this.held.items()) if (entry.key === key) ids.add(entry.id);
    return ids;
  }

  entries(): QueuedEntry[] {
    return this.held.items();
  }

  /** Resets the idle time of every held entry; marks those another consumer has taken as lost (never acked here). */
  refresh(): Promise<void> {
    const run = this.refreshHeld().finally(() => {
      if (this.refreshing === run) this.refreshing = undefined;
    });
    this.refreshing = run;
    return run;
  }

  /**
   * A refresh that starts after this call (one under way may have listed the held entries before the caller's), shared
   * by the callers that ask while it waits.
   */
  refreshNow(): Promise<void> {
    this.nextRefresh ??= (this.refreshing ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => {
        this.nextRefresh = undefined;
        return this.refresh();
      });
    return this.nextRefresh;
  }

  private async refreshHeld(): Promise<void> {
    const { commands, group, consumer } = this.options;
    for (const [key, entries] of this.byKey()) {
      const ids = [...entries.keys()];
      for (let i = 0; i < ids.length; i += REFRESH_BATCH) {
        const since = performance.now();
        const batch = ids.slice(i, i + REFRESH_BATCH);
        // Pending with nobody (acked by a consumer that claimed it, or the group was recreated under it): not another's
        // to run, so a queued one still runs here (at-least-once); its ack is a no-op and its effects aren't applied (the
        // record that would make them count once is gone).
        const { lost, deleted, orphaned } = await refreshOwned(commands, key, group, consumer, batch);
        const gone = new Set(lost);
        for (const id of deleted) entries.get(id)!.deleted = true;
        // Only what the script refreshed (owned, still in the stream) is fresh from now on.
        const stale = new Set([...lost, ...deleted, ...orphaned]);
        for (const id of batch) {
          const entry = entries.get(id)!;
          if (!stale.has(id) && entry.since < since) entry.since = since;
        }
        for (const id of gone) {
          const entry = entries.get(id)!;
          if (entry.acked || entry.lost || entry.slot < 0) continue;
          entry.lost = true;
          this.options.onLost(entry);
        }
      }
    }
  }

  /** After the group was recreated: gives the held entries their pending records back, so their acks count. */
  async reassert(): Promise<void> {
    const { commands, group, consumer } = this.options;
    for (const [key, entries] of this.byKey()) {
      // Acked ones (on receipt, or by ctx.ack()) must not get a record again: nothing would ack it, and it would run twice.
      const ids = [...entries.values()].filter((entry) => !entry.acked && !entry.lost).map((entry) => entry.id);
      if (ids.length > 0) await reassertHeld(commands, key, group, consumer, ids);
    }
  }

  private byKey(): Map<string, Map<string, QueuedEntry>> {
    const byKey = new Map<string, Map<string, QueuedEntry>>();
    for (const entry of this.held.items()) {
      let entries = byKey.get(entry.key);
      if (!entries) byKey.set(entry.key, (entries = new Map<string, QueuedEntry>()));
      entries.set(entry.id, entry);
    }
    return byKey;
  }

  /**
   * Buffers an ack; all acks of one turn of the event loop go out together, one call per stream and kind. An entry
   * that Redis can't have seen idle for half of `minIdleTime` can't have been claimed by a consumer of the group (they
   * claim only entries idle `minIdleTime`): a plain XACK is safe for it. Older ones go through the ownership check.
   */
  ack(entry: QueuedEntry): void {
    if (entry.acked || entry.lost) return;
    entry.acked = true;
    const young = !this.options.checkEveryAck && performance.now() - entry.since < this.options.minIdleTime / 2;
    const buffer = young ? this.youngAcks : this.ownedAcks;
    let ids = buffer.get(entry.key);
    if (!ids) buffer.set(entry.key, (ids = []));
    ids.push(entry.id);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flushAcks());
    }
  }

  /** Acks an entry now, if still this consumer's (`ctx.ack()` without effects). */
  async ackNow(entry: QueuedEntry): Promise<void> {
    if (entry.acked || entry.lost) return;
    entry.acked = true;
    this.flushInOrder();
    const { commands, group, consumer } = this.options;
    const ids = [entry.id];
    const write = () => ackOwned(commands, entry.key, group, consumer, ids, this.inOrder);
    await this.confirmed(this.regrouped(entry.key, ids, write), (n) => n === 1, `ack of id=${entry.id}`);
  }

  /** On a partition, sends the buffered acks first: its writes must reach Redis in the order its entries ended. */
  private flushInOrder(): void {
    if (this.inOrder && this.flushScheduled) this.flushAcks();
  }

  private get inOrder(): boolean {
    return this.options.onOutOfOrder !== undefined;
  }

  /**
   * On a partition, tells `onOutOfOrder` when an ack-like write failed or `ok` says it was refused. Resolves or rejects
   * as the write does.
   */
  private confirmed<T>(write: Promise<T>, ok: (result: T) => boolean, what: string): Promise<T> {
    const told = this.options.onOutOfOrder;
    if (!told) return write;
    return write.then(
      (result) => {
        if (!ok(result)) told(`${what} was refused`);
        return result;
      },
      (err: unknown) => {
        told(`${what} failed`);
        throw err;
      },
    );
  }

  /** Acks an entry and applies its effects atomically, if still this consumer's and not acknowledged before. */
  async ackWithEffects(entry: QueuedEntry, effects: readonly RedisEffect[]): Promise<EffectsOutcome> {
    if (entry.lost) return 'not-owned';
    if (entry.acked) return 'not-pending';
    entry.acked = true;
    this.flushInOrder();
    const { commands, group, consumer } = this.options;
    const write = this.regrouped(entry.key, [entry.id], () =>
      ackWithEffects(commands, entry.key, group, consumer, entry.id, entry.deliveries, effects, this.inOrder),
    );
    return this.confirmed(write, (outcome) => outcome === 'applied', `ack with effects of id=${entry.id}`);
  }

  /** Moves the entry to `deadKey` and acks it, atomically, if still this consumer's; resolves to the new id or null. */
  async deadLetter(entry: QueuedEntry, deadKey: string, fields: string[]): Promise<string | null> {
    if (entry.acked || entry.lost) return null;
    entry.acked = true;
    this.flushInOrder();
    const { commands, group, consumer } = this.options;
    const write = this.regrouped(entry.key, [entry.id], () =>
      moveToDeadLetter(commands, entry.key, deadKey, group, consumer, entry.id, fields, this.inOrder),
    );
    return this.confirmed(write, (deadId) => deadId !== null, `dead-letter move of id=${entry.id}`);
  }

  /**
   * Runs an ack-like write; if the group vanished meanwhile, recreates it, gives `ids` their pending records back and
   * runs the write again, so that an entry handled while the group was missing is still acknowledged (and its effects
   * applied) once instead of silently not at all.
   */
  private async regrouped<T>(key: string, ids: string[], write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (!isNoGroup(err)) throw err;
      await this.options.recreateGroup();
      await reassertHeld(this.options.commands, key, this.options.group, this.options.consumer, ids);
      return write();
    }
  }

  /** Sets a held entry's delivery count in Redis (its idle time restarts too), if still this consumer's. */
  async setDeliveryCount(entry: QueuedEntry, count: number): Promise<void> {
    const { commands, group, consumer } = this.options;
    await claimOwn(commands, entry.key, group, consumer, [entry.id], count);
  }

  /** Acks ids of entries that were never handed to a handler (trimmed bodies); ownership doesn't matter for them. */
  ackUnheld(key: string, ids: string[]): void {
    const { commands, group } = this.options;
    this.options.writes.track(ack(commands, key, group, ids), `ack of ${ids.length} trimmed entries on ${key}`);
  }

  flushAcks(): void {
    this.flushScheduled = false;
    const { commands, group, consumer, writes } = this.options;
    for (const [key, ids] of this.youngAcks) {
      if (ids.length === 0) continue;
      this.youngAcks.set(key, []);
      writes.track(
        this.regrouped(key, ids, () => ack(commands, key, group, ids)),
        `ack of ${ids.length} entries on ${key} (${sample(ids)})`,
      );
    }
    for (const [key, ids] of this.ownedAcks) {
      if (ids.length === 0) continue;
      this.ownedAcks.set(key, []);
      const what = `ack of ${ids.length} entries on ${key} (${sample(ids)})`;
      const write = this.regrouped(key, ids, () => ackOwned(commands, key, group, consumer, ids, this.inOrder));
      writes.track(
        this.confirmed(write, (n) => n === ids.length, what),
        what,
      );
    }
  }
}

function sample(ids: string[]): string {
  return `ids=${ids.slice(0, 10).join(',')}`;
}
