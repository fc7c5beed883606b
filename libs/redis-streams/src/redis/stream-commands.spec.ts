import { compareIds, idTimestamp } from './stream-commands.js';

describe('entry ids', () => {
  it('orders ids numerically by time, then sequence', () => {
    expect(compareIds('9-0', '10-0')).toBe(-1);
    expect(compareIds('10-2', '10-10')).toBe(-1);
    expect(compareIds('10-10', '10-10')).toBe(0);
    expect(compareIds('1700000000000-1', '1700000000000-0')).toBe(1);
  });

  it('reads the creation time from an id', () => {
    expect(idTimestamp('1700000000123-4')).toBe(1700000000123);
  });
});
