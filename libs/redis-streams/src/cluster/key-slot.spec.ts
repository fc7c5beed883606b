import { hashTagOf, keySlot, sameSlotKey } from './key-slot.js';

describe('hash slots', () => {
  it('computes the slots Redis documents', () => {
    // Values from the Redis Cluster specification and `CLUSTER KEYSLOT` on Redis 7.0.
    expect(keySlot('123456789')).toBe(0x31c3 % 16384);
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('Email')).toBe(keySlot('{Email}:dead'));
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    expect(keySlot('{}x')).not.toBe(keySlot('x'));
  });

  it('reads a hash tag only when it is not empty', () => {
    expect(hashTagOf('{Email}:dead')).toBe('Email');
    expect(hashTagOf('foo{}{bar}')).toBeUndefined();
    expect(hashTagOf('foo{{bar}}zap')).toBe('{bar');
    expect(hashTagOf('Email')).toBeUndefined();
  });

  it('derives keys in the same slot, keeping an existing tag', () => {
    expect(sameSlotKey('Email', ':dead')).toBe('{Email}:dead');
    expect(sameSlotKey('{orders}.eu', ':dead')).toBe('{orders}.eu:dead');
    for (const key of ['Email', 'app1:Push', '{orders}.eu', 'ünïcode']) {
      expect(keySlot(sameSlotKey(key, ':dead'))).toBe(keySlot(key));
    }
  });
});
