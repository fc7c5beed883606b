import { DATA_FIELD, HEADERS_FIELD } from '../constants.js';
import type { StreamHeaders, StreamSerializer } from '../interfaces/serialization.interface.js';

/** Stores the payload as readable JSON in the `data` field, and headers (when any) as JSON in `headers`. */
export class JsonEntrySerializer implements StreamSerializer {
  serialize(data: unknown, headers?: StreamHeaders): string[] {
    const json = JSON.stringify(data);
    if (json === undefined) {
      throw new TypeError(`Cannot serialize a payload of type ${typeof data} to JSON: emit a JSON value instead.`);
    }
    if (headers === undefined) return [DATA_FIELD, json];
    for (const _ in headers) return [DATA_FIELD, json, HEADERS_FIELD, JSON.stringify(headers)];
    return [DATA_FIELD, json];
  }
}
