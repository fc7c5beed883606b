/**
 * A field of an entry's payload as text. Gateway entries are validated JSON, but anyone can XADD to a stream, so a
 * field may be missing or of another type: numbers and booleans are shown as they are, anything else as `fallback`.
 */
export function field(data: unknown, name: string, fallback = ''): string {
  if (data === null || typeof data !== 'object') return fallback;
  const value = (data as Record<string, unknown>)[name];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return fallback;
}
