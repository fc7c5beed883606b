// Redis Cluster's key → hash slot mapping (CRC16/XMODEM of the hash tag, or of the whole key, modulo 16384), and the
// derivation of keys that must share a stream's slot.

const TABLE = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let crc = i << 8;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
  TABLE[i] = crc & 0xffff;
}

export const SLOT_COUNT = 16384;

/**
 * The part of `key` Redis Cluster hashes: the text between the first `{` and the next `}` when it is not empty
 * (`{Email}:dead` → `Email`), else the whole key.
 */
export function hashTagOf(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

/** The hash slot (0–16383) of `key`, as Redis Cluster computes it (on the key's UTF-8 bytes). */
export function keySlot(key: string): number {
  const bytes = Buffer.from(hashTagOf(key) ?? key, 'utf8');
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff];
  return crc % SLOT_COUNT;
}

/**
 * A key derived from `key` that lands in `key`'s slot: `{Email}` + `suffix` for `Email` (a hash tag of the whole key
 * hashes like the key itself), or `key` + `suffix` when `key` already has a tag (`{orders}.eu` → `{orders}.eu:dead`).
 */
export function sameSlotKey(key: string, suffix: string): string {
  return hashTagOf(key) === undefined ? `{${key}}${suffix}` : `${key}${suffix}`;
}

/**
 * The default dead-letter stream of a stream key: `Email:dead` on a standalone Redis (the name existing deployments
 * have), `{Email}:dead` on a cluster, where the dead-letter move is one script and needs both keys in one slot.
 */
export function defaultDeadLetterKey(key: string, cluster: boolean, suffix = ':dead'): string {
  return cluster ? sameSlotKey(key, suffix) : `${key}${suffix}`;
}
