import type { HistoryEntry } from '../history/stream-history.js';

/** One line for a table cell: the payload as compact JSON (or why it can't be decoded), cut at `max` characters. */
export function entrySummary(entry: HistoryEntry, max = 120): string {
  const text = entry.error ? `(undecodable: ${entry.error})` : JSON.stringify(entry.data);
  const headers = Object.keys(entry.headers).length > 0 ? ` headers=${JSON.stringify(entry.headers)}` : '';
  const line = (text + headers).replace(/\s+/g, ' ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** An entry as `--json` prints it (the raw fields are left out: `data` and `headers` are what handlers get). */
export function entryJson(entry: HistoryEntry): Record<string, unknown> {
  return {
    id: entry.id,
    ...(entry.partition === undefined ? {} : { partition: entry.partition }),
    timestamp: entry.timestamp.toISOString(),
    data: entry.data,
    headers: entry.headers,
    ...(entry.error ? { error: entry.error, fields: entry.fields } : {}),
  };
}
