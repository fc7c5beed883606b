import { SlotSet, type Slotted } from './slot-set.js';

const item = (name: string): Slotted & { name: string } => ({ name, slot: -1 });

describe('SlotSet', () => {
  it('holds what was added and not yet deleted, and counts it', () => {
    const set = new SlotSet<ReturnType<typeof item>>();
    const [a, b, c] = [item('a'), item('b'), item('c')];
    set.add(a);
    set.add(b);
    set.add(c);
    expect(set.delete(b)).toBe(true);
    expect(set.size).toBe(2);
    expect(
      set
        .items()
        .map((i) => i.name)
        .sort(),
    ).toEqual(['a', 'c']);
    expect(b.slot).toBe(-1);
  });

  it('ignores a second add and a delete of an item it does not hold', () => {
    const set = new SlotSet<ReturnType<typeof item>>();
    const a = item('a');
    set.add(a);
    set.add(a);
    expect(set.size).toBe(1);
    expect(set.delete(item('stranger'))).toBe(false);
    expect(set.delete(a)).toBe(true);
    expect(set.delete(a)).toBe(false);
    expect(set.size).toBe(0);
  });

  it('reuses freed slots, so its array only grows to the most items held at once', () => {
    const set = new SlotSet<ReturnType<typeof item>>();
    for (let round = 0; round < 1000; round++) {
      const batch = Array.from({ length: 10 }, (_, i) => item(`${round}-${i}`));
      batch.forEach((i) => set.add(i));
      batch.forEach((i) => set.delete(i));
    }
    const slots = (set as unknown as { slots: unknown[] }).slots;
    expect(slots.length).toBe(10);
    expect(slots.every((slot) => slot === undefined)).toBe(true);
    expect(set.size).toBe(0);
  });
});
