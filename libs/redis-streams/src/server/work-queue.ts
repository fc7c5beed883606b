import { withTimeout } from './with-timeout.js';

/** Started slots kept at the front of the array before it is compacted. */
const COMPACT_AFTER = 1024;

/**
 * Runs queued items through `worker` with at most `concurrency` at once, in the order they were queued. A reader reads
 * only while fewer than `prefetch` items wait to start, so the next read's round trip overlaps the handling of the
 * last one, and what a process holds stays under 2 × `prefetch` + `concurrency` whatever the backlog.
 */
export class WorkQueue<T> {
  private items: T[] = [];
  private head = 0;
  private running = 0;
  /** Items held elsewhere that count as waiting (failed entries waiting for their retry). */
  private reserved = 0;
  private closed = false;
  private pumping = false;
  private readonly waiters: { condition: () => boolean; resolve: () => void }[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly prefetch: number,
    private readonly worker: (item: T, done: () => void) => void,
  ) {}

  /** Queues an item; returns false (and drops it) once closed. */
  push(item: T): boolean {
    if (this.closed) return false;
    this.items.push(item);
    this.pump();
    return true;
  }

  /** Fewer than `prefetch` items wait (queued or reserved): time to read more. Never once closed. */
  get hasRoom(): boolean {
    return !this.closed && this.waiting < this.prefetch;
  }

  /** How many more items a read may bring now. */
  get room(): number {
    return this.closed ? 0 : Math.max(0, this.prefetch - this.waiting);
  }

  get size(): number {
    return this.running + this.waiting;
  }

  private get waiting(): number {
    return this.items.length - this.head + this.reserved;
  }

  /** Counts `n` items held outside the queue as waiting, until `unreserve`d. */
  reserve(n = 1): void {
    this.reserved += n;
  }

  unreserve(n = 1): void {
    this.reserved -= n;
    this.notify();
  }

  /** Resolves when `hasRoom`, or once closed. */
  waitForRoom(): Promise<void> {
    return this.waitUntil(() => this.hasRoom || this.closed);
  }

  /** Starts nothing more, wakes every waiter, and returns the items that had not started. */
  close(): T[] {
    this.closed = true;
    return this.takeQueued();
  }

  /** Whether no item is running. */
  get idle(): boolean {
    return this.running === 0;
  }

  /** Resolves when no item is running. */
  whenIdle(): Promise<void> {
    return this.waitUntil(() => this.running === 0);
  }

  /** Resolves when no item is running, or after `timeoutMs`; returns whether it drained. */
  drain(timeoutMs: number): Promise<boolean> {
    return withTimeout(
      this.waitUntil(() => this.running === 0),
      timeoutMs,
    );
  }

  /** Removes the items that have not started and returns them. */
  takeQueued(): T[] {
    const queued = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    this.notify();
    return queued;
  }

  private waitUntil(condition: () => boolean): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ condition, resolve }));
  }

  private readonly release = (): void => {
    this.running--;
    this.pump();
  };

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.closed && this.running < this.concurrency && this.head < this.items.length) {
        const item = this.items[this.head];
        this.items[this.head++] = undefined as T;
        this.running++;
        this.worker(item, once(this.release));
      }
      if (this.head >= this.items.length && this.head > 0) {
        this.items = [];
        this.head = 0;
      } else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.items.length) {
        // A queue that never empties (reads keep it topped up while handlers wait on I/O) would otherwise grow by
        // one started slot per item for as long as the backlog lasts.
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
    } finally {
      this.pumping = false;
    }
    this.notify();
  }

  /** Resolves the waiters whose condition holds now, in place (this runs after every item). */
  private notify(): void {
    const waiters = this.waiters;
    if (waiters.length === 0) return;
    let kept = 0;
    for (const waiter of waiters) {
      if (waiter.condition()) waiter.resolve();
      else waiters[kept++] = waiter;
    }
    waiters.length = kept;
  }
}

function once(fn: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    fn();
  };
}
