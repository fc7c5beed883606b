import { sameSlotKey } from '../cluster/key-slot.js';

/** An effect's key is in another hash slot than the stream: one script can't touch both on Redis Cluster. */
export class CrossSlotEffectError extends Error {
  override readonly name = 'CrossSlotEffectError';

  constructor(key: string, stream: string) {
    super(
      `The effect key "${key}" is in another Redis Cluster hash slot than the stream "${stream}", so it can't be ` +
        `applied atomically with the ack. Put the stream's hash tag in the key, e.g. "${sameSlotKey(stream, ':' + key)}".`,
    );
  }
}
