/** Headers carried beside a payload in an entry (trace ids, reply routing). */
export type StreamHeaders = Record<string, string>;

/** What a deserializer makes of an entry's fields. */
export interface DecodedEntry {
  data: unknown;
  headers: StreamHeaders;
}

/** Turns a payload (and headers) into the flat field/value list stored by XADD. */
export interface StreamSerializer {
  serialize(data: unknown, headers?: StreamHeaders): string[];
}

/**
 * Turns an entry's flat field/value list into a payload. Throw (ideally `UndecodableEntryError`) for an entry that
 * can't be decoded: it is then moved to the dead-letter stream, never handed to a handler.
 */
export interface StreamDeserializer {
  deserialize(fields: string[]): DecodedEntry;
}
