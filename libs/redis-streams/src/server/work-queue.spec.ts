import { WorkQueue } from './work-queue.js';

describe('WorkQueue', () => {
  it('runs at most `concurrency` items at once, starting them in queue order', () => {
    const started: number[] = [];
    const dones: (() => void)[] = [];
    const queue = new WorkQueue<number>(2, 2, (item, done) => {
      started.push(item);
      dones.push(done);
    });
    [1, 2, 3, 4].forEach((n) => queue.push(n));
    expect(started).toEqual([1, 2]);
    expect(queue.hasRoom).toBe(false);
    dones[0]();
    expect(started).toEqual([1, 2, 3]);
    dones[0]();
    expect(started).toEqual([1, 2, 3]);
    dones[1]();
    expect(started).toEqual([1, 2, 3, 4]);
  });

  it('reports room while fewer than `prefetch` items wait to start, whatever is running', async () => {
    const dones: (() => void)[] = [];
    const queue = new WorkQueue<number>(1, 2, (_, done) => dones.push(done));
    queue.push(1);
    expect(queue.hasRoom).toBe(true);
    expect(queue.room).toBe(2);
    queue.push(2);
    queue.push(3);
    expect(queue.hasRoom).toBe(false);
    expect(queue.room).toBe(0);
    let roomy = false;
    const room = queue.waitForRoom().then(() => (roomy = true));
    await Promise.resolve();
    expect(roomy).toBe(false);
    dones[0]();
    await room;
    expect(roomy).toBe(true);
    expect(queue.room).toBe(1);
  });

  it('handles workers that finish synchronously without deep recursion', () => {
    let handled = 0;
    const queue = new WorkQueue<number>(1, 10, (_, done) => {
      handled++;
      done();
    });
    for (let i = 0; i < 100_000; i++) queue.push(i);
    expect(handled).toBe(100_000);
    expect(queue.size).toBe(0);
  });

  it('drains with a timeout and hands back items that never started', async () => {
    const queue = new WorkQueue<number>(1, 10, () => undefined);
    queue.push(1);
    queue.push(2);
    expect(queue.takeQueued()).toEqual([2]);
    expect(await queue.drain(20)).toBe(false);
  });

  it('keeps its storage bounded while reads keep it topped up and it never empties', () => {
    const started: number[] = [];
    const dones: (() => void)[] = [];
    const queue = new WorkQueue<number>(1, 10, (item, done) => {
      started.push(item);
      dones.push(done);
    });
    let next = 0;
    for (; next < 10; next++) queue.push(next);
    for (; next < 100_000; next++) {
      dones.shift()!();
      queue.push(next);
    }
    // What a long backlog leaves behind: a few waiting items, not a slot for every item ever started.
    const storage = (queue as unknown as { items: unknown[] }).items.length;
    expect(storage).toBeLessThan(3000);
    expect(queue.size).toBe(10);
    expect(started).toEqual(Array.from({ length: started.length }, (_, i) => i));
    expect(started.length).toBe(100_000 - 9);
  });

  it('counts reserved items (entries waiting for a retry) as waiting, and wakes waiters when they are released', async () => {
    const queue = new WorkQueue<number>(1, 2, () => undefined);
    queue.reserve(2);
    expect(queue.hasRoom).toBe(false);
    expect(queue.room).toBe(0);
    let woken = false;
    const waiting = queue.waitForRoom().then(() => (woken = true));
    await Promise.resolve();
    expect(woken).toBe(false);
    queue.unreserve();
    await waiting;
    expect(woken).toBe(true);
    expect(queue.room).toBe(1);
  });

  it('once closed, starts nothing, refuses new items, wakes waiters and hands back what had not started', async () => {
    const started: number[] = [];
    const dones: (() => void)[] = [];
    const queue = new WorkQueue<number>(1, 1, (item, done) => {
      started.push(item);
      dones.push(done);
    });
    [1, 2, 3].forEach((n) => queue.push(n));
    const waiting = queue.waitForRoom();
    expect(queue.close()).toEqual([2, 3]);
    await waiting;
    expect(queue.push(4)).toBe(false);
    dones[0]();
    expect(started).toEqual([1]);
    expect(queue.hasRoom).toBe(false);
    expect(await queue.drain(100)).toBe(true);
  });
});
