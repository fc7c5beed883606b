/** An item that remembers its slot in a `SlotSet` (-1 while in none). */
export interface Slotted {
  slot: number;
}

/**
 * A set of items kept in the slots of one array, reused through a free list of slot numbers; each item remembers its
 * slot, so adding and removing cost an array write each. A reader uses it for the entries it holds, instead of a `Map`:
 * a Map that sees an insert and a delete per entry rehashes into a new table every few hundred entries, and a dead
 * table that had reached old space still points at the young entries of its time. The scavenger treats those pointers
 * as roots, so it kept every entry of the batch alive and promoted it: about 300 bytes per entry of old-space garbage,
 * and a heap that grew to four times its live size between full collections (BENCHMARKS.md, "Memory"). Here a removed
 * item's slot is cleared at once, and the array only grows to the most items ever held at one time.
 */
export class SlotSet<T extends Slotted> {
  private readonly slots: (T | undefined)[] = [];
  private readonly free: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(item: T): void {
    if (item.slot >= 0) return;
    const slot = this.free.length > 0 ? this.free.pop()! : this.slots.length;
    this.slots[slot] = item;
    item.slot = slot;
    this.count++;
  }

  /** Removes the item; returns false if it wasn't here. */
  delete(item: T): boolean {
    const slot = item.slot;
    if (slot < 0 || this.slots[slot] !== item) return false;
    this.slots[slot] = undefined;
    this.free.push(slot);
    item.slot = -1;
    this.count--;
    return true;
  }

  /** The items held now (a copy, in no particular order). */
  items(): T[] {
    const out: T[] = [];
    for (const item of this.slots) if (item !== undefined) out.push(item);
    return out;
  }
}
