import type { Envelope } from '@synod/core';
import { describe, expect, it } from 'vitest';
import { jsonTestCodec } from '../../src/compliance/index.js';

describe('jsonTestCodec', () => {
  it('round-trips byte arrays, bigints and nested objects into fresh values', () => {
    const payload = {
      term: 7n,
      entries: [{ index: 1, data: new Uint8Array([0, 255, 128]) }],
      view: new Uint8Array(new Uint8Array([9, 8, 7, 6]).buffer, 1, 2),
      buffer: Buffer.from([1, 2]),
      note: 'héllo',
    };
    const envelope: Envelope = { clusterId: 'c', from: 'a', to: 'b', protocol: 'raft', payload };
    const decoded = jsonTestCodec.decode(jsonTestCodec.encode(envelope));
    expect(decoded).toMatchObject({ clusterId: 'c', from: 'a', to: 'b', protocol: 'raft' });
    const got = decoded.payload as typeof payload;
    expect(got.term).toBe(7n);
    expect(got.entries[0]?.data).toEqual(new Uint8Array([0, 255, 128]));
    expect(got.view).toEqual(new Uint8Array([8, 7]));
    expect(Array.from(got.buffer)).toEqual([1, 2]);
    expect(got.note).toBe('héllo');
    expect(got.entries[0]?.data).not.toBe(payload.entries[0]?.data);
  });
});
