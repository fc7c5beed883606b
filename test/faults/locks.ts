// Named locks for the fault schedule: a task takes several at once, in the order tasks asked for them, so two tasks
// that share a name never run together and nothing can deadlock (a holder never asks for more).
export class Locks {
  private readonly tails = new Map<string, Promise<void>>();
  /** Runs `task` once every named lock is free, holding them all meanwhile. */
  async with<T>(names: string[], task: () => Promise<T>): Promise<T> {
    const before = names.map((n) => this.tails.get(n) ?? Promise.resolve());
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    for (const n of names) this.tails.set(n, done);
    await Promise.all(before);
    try {
      return await task();
    } finally {
      release();
    }
  }
}
