import { InvalidArgumentError } from '@synod/core';
import { describe, expect, it } from 'vitest';
import { Keyring, SEAL_OVERHEAD_BYTES } from '../src/keyring.js';

const k1 = Buffer.alloc(32, 1);
const k2 = Buffer.alloc(32, 2);
const message = Buffer.from('ping n2 seq 7');

describe('Keyring', () => {
  it('seals with AES-256-GCM and opens with the same key and cluster id only', () => {
    const ring = new Keyring([k1]);
    const sealed = ring.seal(message, 'c1');
    expect(sealed.length).toBe(message.length + SEAL_OVERHEAD_BYTES);
    expect(sealed.includes(message)).toBe(false);
    expect(ring.open(sealed, 'c1')).toEqual(message);
    expect(ring.open(sealed, 'c2')).toBeUndefined();
    expect(new Keyring([k2]).open(sealed, 'c1')).toBeUndefined();
  });

  it('rejects tampering anywhere in the sealed message', () => {
    const ring = new Keyring([k1]);
    const sealed = ring.seal(message, 'c1');
    for (let i = 0; i < sealed.length; i++) {
      const copy = Buffer.from(sealed);
      copy[i]! ^= 0x40;
      expect(ring.open(copy, 'c1'), `byte ${i}`).toBeUndefined();
    }
    expect(ring.open(sealed.subarray(0, 10), 'c1')).toBeUndefined();
  });

  it('rotates without a moment where two members cannot talk: install, use, remove', () => {
    const a = new Keyring([k1]);
    const b = new Keyring([k1]);
    const talk = (): boolean => b.open(a.seal(message, 'c'), 'c') !== undefined && a.open(b.seal(message, 'c'), 'c') !== undefined;
    a.install(k2);
    expect(talk()).toBe(true);
    b.install(k2);
    a.use(k2); // a seals with k2 before b does: b opens it, having installed it
    expect(talk()).toBe(true);
    b.use(k2);
    expect(talk()).toBe(true);
    a.remove(k1);
    b.remove(k1);
    expect(talk()).toBe(true);
    expect(new Keyring([k1]).open(a.seal(message, 'c'), 'c')).toBeUndefined();
  });

  it('replace: a reloaded keyring file, applied in three rounds, rotates with the members always talking', () => {
    const a = new Keyring([k1]);
    const b = new Keyring([k1]);
    const talk = (): boolean => b.open(a.seal(message, 'c'), 'c') !== undefined && a.open(b.seal(message, 'c'), 'c') !== undefined;
    for (const round of [[k1, k2], [k2, k1], [k2]]) {
      a.replace(round);
      expect(talk(), `a has ${round.length} keys, b not yet`).toBe(true);
      b.replace(round);
      expect(talk()).toBe(true);
    }
    expect(a.keys()).toEqual([k2]);
    expect(a.primary).toEqual(k2);
    expect(new Keyring([k1]).open(a.seal(message, 'c'), 'c')).toBeUndefined();
  });

  it('replace refuses an empty or bad key list and leaves the keyring as it was; duplicates collapse', () => {
    const ring = new Keyring([k1]);
    expect(() => ring.replace([])).toThrow(InvalidArgumentError);
    expect(() => ring.replace([k2, Buffer.alloc(8)])).toThrow(/32 bytes/);
    expect(ring.keys()).toEqual([k1]);
    ring.replace([k2, k1, k2]);
    expect(ring.keys()).toEqual([k2, k1]);
    expect(ring.size).toBe(2);
  });

  it('refuses bad keys and unsafe operations with InvalidArgumentError', () => {
    expect(() => new Keyring([])).toThrow(InvalidArgumentError);
    expect(() => new Keyring([Buffer.alloc(16)])).toThrow(/32 bytes/);
    const ring = new Keyring([k1]);
    expect(() => ring.use(k2)).toThrow(/install a key before using it/);
    expect(() => ring.remove(k1)).toThrow(/primary key cannot be removed/);
    expect(Keyring.generateKey()).toHaveLength(32);
  });
});
