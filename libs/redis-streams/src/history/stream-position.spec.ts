import { validateServerOptions } from '../server/validate-options.js';
import { idBefore, isValidPosition, parseDuration, parsePosition, rangeEnd, rangeStart } from './stream-position.js';

describe('stream positions', () => {
  it('maps a time onto the ids of its whole millisecond', () => {
    expect(rangeStart(new Date(1000))).toBe('1000-0');
    expect(rangeEnd(new Date(1000))).toBe('1000-18446744073709551615');
    expect(rangeStart('1970-01-01T00:00:01Z')).toBe('1000-0');
    expect(rangeEnd('1000')).toBe('1000-18446744073709551615');
    expect(rangeEnd('1000-3')).toBe('1000-3');
    expect([rangeStart('-'), rangeEnd('+')]).toEqual(['-', '+']);
  });

  it('starts readers after the last id of the millisecond before a time, so its first entry is delivered', () => {
    expect(idBefore(new Date(1000))).toBe('999-18446744073709551615');
    expect(idBefore(new Date(0))).toBe('0-0');
  });

  it('reads durations, ids and times as an operator types them', () => {
    const now = 1_700_000_000_000;
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('soon')).toBeUndefined();
    expect(parsePosition('10m', now)).toEqual(new Date(now - 600_000));
    expect(parsePosition('1700000000000-1', now)).toBe('1700000000000-1');
    expect(parsePosition('2026-11-27T10:00:00Z', now)).toEqual(new Date('2026-11-27T10:00:00Z'));
    expect(parsePosition('yesterday', now)).toBeUndefined();
  });

  it('accepts a Date or an ISO string for startId and broadcastStartId, and names the option otherwise', () => {
    expect(() =>
      validateServerOptions({ startId: new Date(), broadcastStartId: '2026-11-27T10:00:00+01:00' }),
    ).not.toThrow();
    expect(() => validateServerOptions({ startId: new Date('nonsense') })).toThrow(/`startId`.*invalid Date/);
    expect(() => validateServerOptions({ broadcastStartId: '27/11/2026' })).toThrow(/`broadcastStartId`.*ISO/);
    expect(isValidPosition('$', ['$'])).toBe(true);
    expect(isValidPosition('$', [])).toBe(false);
  });
});
