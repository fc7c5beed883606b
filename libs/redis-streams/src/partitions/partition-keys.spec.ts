import { keySlot } from '../cluster/key-slot.js';
import { partitionKey, partitionNamed, partitionOf } from './partition-keys.js';

describe('partition keys', () => {
  it('routes one key always to the same partition, and many keys evenly', () => {
    expect(partitionOf('customer-42', 8)).toBe(partitionOf('customer-42', 8));
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 8000; i++) counts[partitionOf(`customer-${i}`, 8)]++;
    for (const count of counts) expect(count).toBeGreaterThan(800);
    for (const count of counts) expect(count).toBeLessThan(1200);
  });

  it('names partitions so that they spread over hash slots', () => {
    const slots = new Set(Array.from({ length: 16 }, (_, i) => keySlot(partitionKey('Orders', i))));
    expect(slots.size).toBe(16);
  });

  it('reads the partition back from a partition key', () => {
    expect(partitionNamed('app:Orders:p3', 'Orders')).toBe(3);
    expect(partitionNamed('app:Orders', 'Orders')).toBeUndefined();
    expect(partitionNamed('app:Other:p3', 'Orders')).toBeUndefined();
  });
});
