import { UndecodableEntryError } from '../errors/undecodable-entry.error.js';
import { JsonEntryDeserializer } from './json-entry.deserializer.js';
import { JsonEntrySerializer } from './json-entry.serializer.js';

describe('JSON entry format', () => {
  const serializer = new JsonEntrySerializer();
  const deserializer = new JsonEntryDeserializer();

  it('stores the payload as readable JSON in the data field', () => {
    expect(serializer.serialize({ to: 'a@b.c' })).toEqual(['data', '{"to":"a@b.c"}']);
  });

  it('adds a headers field only when there are headers', () => {
    expect(serializer.serialize(1, {})).toEqual(['data', '1']);
    expect(serializer.serialize(1, { trace: 'x' })).toEqual(['data', '1', 'headers', '{"trace":"x"}']);
  });

  it('refuses payloads that JSON cannot represent, naming the type', () => {
    expect(() => serializer.serialize(() => 1)).toThrow(/function/);
  });

  it('round-trips payloads and headers', () => {
    const payload = { n: 1, nested: { list: [1, 'two', null] } };
    expect(deserializer.deserialize(serializer.serialize(payload, { a: 'b' }))).toEqual({
      data: payload,
      headers: { a: 'b' },
    });
  });

  it('turns plain field/value pairs written by other programs into an object', () => {
    expect(deserializer.deserialize(['subject', 'first', 'body', 'hello']).data).toEqual({
      subject: 'first',
      body: 'hello',
    });
  });

  it('rejects a data field that is not JSON with an error naming the field', () => {
    expect(() => deserializer.deserialize(['data', '{oops'])).toThrow(UndecodableEntryError);
    expect(() => deserializer.deserialize(['data', '{oops'])).toThrow(/Field "data" is not valid JSON/);
  });

  it('rejects headers that are not a JSON object', () => {
    expect(() => deserializer.deserialize(['data', '1', 'headers', '[1]'])).toThrow(/headers/);
  });
});
