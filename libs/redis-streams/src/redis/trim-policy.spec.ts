import { validateClientOptions } from '../server/validate-options.js';
import { supportsAckedTrim, trimArgs } from './trim-policy.js';

describe('trim policy', () => {
  it.each([
    ['7.0.15', false],
    ['7.4.2', false],
    ['8.0.3', false],
    ['8.1.99', false],
    ['8.2.0', true],
    ['8.2.1-rc1', true],
    ['8.10.0', true],
    ['9.0.0', true],
    ['10.1.0', true],
    ['', false],
    ['unknown', false],
  ])('knows whether Redis %s can trim only acknowledged entries', (version, expected) => {
    expect(supportsAckedTrim(version)).toBe(expected);
  });

  it('trims by age with MINID ~ from the given clock, ACKED first where Redis has it', () => {
    expect(trimArgs({ maxAge: 60_000 }, false, 1_700_000_060_000)).toEqual(['MINID', '~', 1_700_000_000_000]);
    expect(trimArgs({ maxAge: 60_000 }, true, 1_700_000_060_000)).toEqual(['ACKED', 'MINID', '~', 1_700_000_000_000]);
    expect(trimArgs({ maxLen: 10 }, true, 0)).toEqual(['ACKED', 'MAXLEN', '~', 10]);
    expect(trimArgs({}, true, 0)).toEqual([]);
  });
});

describe('client trimming options', () => {
  it('takes maxAge in whole ms, and not together with maxLen (XADD trims one way)', () => {
    expect(() => validateClientOptions({ maxAge: 86_400_000 })).not.toThrow();
    expect(() => validateClientOptions({ maxAge: 0 })).toThrow(/`maxAge`.*whole number >= 1/);
    expect(() => validateClientOptions({ maxAge: 1000, maxLen: 10 })).toThrow(/`maxAge`.*keep one/);
  });
});
