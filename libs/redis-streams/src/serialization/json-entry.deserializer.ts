import { DATA_FIELD, HEADERS_FIELD } from '../constants.js';
import { UndecodableEntryError } from '../errors/undecodable-entry.error.js';
import type { DecodedEntry, StreamDeserializer, StreamHeaders } from '../interfaces/serialization.interface.js';

const NO_HEADERS: StreamHeaders = Object.freeze({});

/**
 * An entry with a `data` field holds JSON (as `RedisStreamsClient` writes it). An entry without one was written by
 * another program as plain pairs (`XADD Email * subject hi body hello`) and becomes `{ subject: 'hi', body: 'hello' }`.
 */
export class JsonEntryDeserializer implements StreamDeserializer {
  deserialize(fields: string[]): DecodedEntry {
    let dataIndex = -1;
    let headersIndex = -1;
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i];
      if (name === DATA_FIELD) dataIndex = i + 1;
      else if (name === HEADERS_FIELD) headersIndex = i + 1;
    }
    if (dataIndex === -1) return { data: pairsToObject(fields), headers: NO_HEADERS };
    return {
      data: parseJson(fields[dataIndex], DATA_FIELD),
      headers: headersIndex === -1 ? NO_HEADERS : parseHeaders(fields[headersIndex]),
    };
  }
}

function pairsToObject(fields: string[]): Record<string, string> {
  if (fields.length === 0) {
    throw new UndecodableEntryError('The entry has no fields: write at least one field/value pair.');
  }
  const data: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) data[fields[i]] = fields[i + 1];
  return data;
}

function parseJson(value: string, field: string): unknown {
  try {
    return JSON.parse(value);
  } catch (cause) {
    throw new UndecodableEntryError(
      `Field "${field}" is not valid JSON (${(cause as Error).message}). Write JSON in "${field}", ` +
        `or write plain field/value pairs without a "${field}" field.`,
      { cause },
    );
  }
}

function parseHeaders(value: string): StreamHeaders {
  const headers = parseJson(value, HEADERS_FIELD);
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) {
    throw new UndecodableEntryError(`Field "${HEADERS_FIELD}" must hold a JSON object of strings.`);
  }
  return headers as StreamHeaders;
}
