// Where in a stream a read, a new group or a group reset starts, given as an entry id, a time or a special id. Stream
// ids are `<ms>-<seq>` with the ms of Redis's clock, so a time maps onto ids exactly: every entry added during the
// millisecond T has an id from `T-0` to `T-18446744073709551615`.

/** An entry id (`1700000000000-0`, or `1700000000000` for the whole millisecond), a `Date`, or an ISO time string. */
export type StreamPosition = string | Date;

/** The largest sequence number within one millisecond. */
export const MAX_SEQ = '18446744073709551615';

const ENTRY_ID = /^\d+(-\d+)?$/;
/** `(<id>`: a range bound that leaves the entry itself out, for paging on from the last entry seen. */
const EXCLUSIVE_ID = /^\(\d+-\d+$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function isEntryId(text: string): boolean {
  return ENTRY_ID.test(text);
}

/** The time of `position` when it is one (a `Date` or an ISO string), else `undefined` (an id or `-`, `+`, `$`). */
export function timeOf(position: StreamPosition): Date | undefined {
  if (position instanceof Date) return position;
  if (!ISO_TIME.test(position)) return undefined;
  const date = new Date(position);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** Whether `position` is a valid `Date`, ISO time, entry id, or one of `specials`. */
export function isValidPosition(position: unknown, specials: readonly string[]): boolean {
  if (position instanceof Date) return !Number.isNaN(position.getTime()) && position.getTime() >= 0;
  if (typeof position !== 'string') return false;
  return specials.includes(position) || isEntryId(position) || timeOf(position) !== undefined;
}

/** A duration such as `10m`, `2h`, `7d`, `500ms` in ms, or `undefined` when `text` isn't one. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  return match ? Number(match[1]) * UNIT_MS[match[2]] : undefined;
}

/**
 * Reads an operator's position: a duration means that long before `now` (`10m`), else an entry id, `-`, `+`, or an
 * ISO time. Returns `undefined` when `text` is none of these.
 */
export function parsePosition(text: string, now: number): StreamPosition | undefined {
  const ago = parseDuration(text);
  if (ago !== undefined) return new Date(now - ago);
  if (text === '-' || text === '+' || isEntryId(text) || EXCLUSIVE_ID.test(text)) return text;
  return timeOf(text);
}

/** The first id of a range that starts at `position` (inclusive): a time starts at its millisecond's first id. */
export function rangeStart(position: StreamPosition): string {
  const time = timeOf(position);
  return time ? `${time.getTime()}-0` : (position as string);
}

/** The last id of a range that ends at `position` (inclusive): a time ends with its millisecond's last id. */
export function rangeEnd(position: StreamPosition): string {
  const time = timeOf(position);
  if (time) return `${time.getTime()}-${MAX_SEQ}`;
  const id = position as string;
  return id.includes('-') || id === '+' ? id : `${id}-${MAX_SEQ}`;
}

/**
 * The id after which a reader that should see every entry from `time` on starts: the last id of the millisecond
 * before. XGROUP CREATE and XREAD deliver entries *after* the id they are given, so this is what makes "the first
 * entry at or after `time`" the first one delivered, whatever entries the stream holds.
 */
export function idBefore(time: Date): string {
  const ms = time.getTime();
  return ms <= 0 ? '0-0' : `${ms - 1}-${MAX_SEQ}`;
}
