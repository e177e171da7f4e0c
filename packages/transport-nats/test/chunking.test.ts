import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { VirtualClock, type Envelope } from '@synod/core';
import { createEnvelopeCodec } from '@synod/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK_HEADER, formatChunkHeader, Reassembler, splitIntoChunks, type ChunkDropReason } from '../src/chunks.js';
import { peerSubject } from '../src/index.js';
import { batchEntrySize, encodeEnvelopeBatch } from '@synod/protocol';
import { BYTE_PROTOCOLS, closeAll, eventually, settle, startCluster, startTransport } from './helpers.js';
import { NatsServer } from '../src/nats-server.js';

const MAX_PAYLOAD = 1024;
const codec = createEnvelopeCodec({ payloadCodecs: BYTE_PROTOCOLS });

function patterned(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

function envelope(from: string, to: string, payload: Uint8Array): Envelope {
  return { clusterId: 'test-cluster', from, to, protocol: 'raft', payload };
}

function batchOf(...envelopes: Envelope[]): Uint8Array {
  const encoded = envelopes.map((e) => codec.encode(e));
  return encodeEnvelopeBatch(encoded, encoded.reduce((sum, bytes) => sum + batchEntrySize(bytes.byteLength), 0));
}

describe('chunking above max_payload (nats-server with max_payload 1024)', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await NatsServer.start({ maxPayload: MAX_PAYLOAD });
  });
  afterAll(async () => {
    await server.dispose();
  });

  it('reads max_payload from the server and reassembles a 200 KiB envelope from chunks, byte for byte', async () => {
    const [a, b] = await startCluster(server.url, ['a', 'b'], () => ({ maxMessageBytes: 256 * 1024 }));
    try {
      const received: Envelope[] = [];
      b!.setHandler((e) => received.push(e));
      const payload = patterned(200 * 1024, 7);
      a!.send('b', envelope('a', 'b', payload));
      await settle([a!, b!], 5_000);
      expect(received).toHaveLength(1);
      expect(Buffer.from(received[0]!.payload as Uint8Array).equals(Buffer.from(payload))).toBe(true);
      const stats = a!.stats();
      expect(stats.maxPayload).toBe(MAX_PAYLOAD);
      expect(stats.messagesSent).toBe(1);
      // The peer's byte count covers every chunk of the batch.
      expect(stats.peers.get('b')?.bytesSent).toBe(stats.bytesSent);
      expect(stats.bytesSent).toBeGreaterThan(200 * 1024);
      // 1024 bytes of max_payload less the header reserve per chunk.
      expect(stats.chunksSent).toBe(Math.ceil((200 * 1024 + 20) / (MAX_PAYLOAD - 128)));
      expect(b!.stats().chunksReceived).toBe(stats.chunksSent);
      expect(b!.stats().droppedChunkedMessages).toBe(0);
      // The probe rode on the last chunk, and was acknowledged once the whole message was in.
      await eventually(() => a!.stats().peers.get('b')?.reachability === 'reachable', 2_000, 'the acknowledgement');
    } finally {
      await closeAll([a!, b!]);
    }
  });

  it('packs envelopes sent in one turn into as few messages as max_payload allows, without chunking them', async () => {
    const [a, b] = await startCluster(server.url, ['a', 'b']);
    try {
      const received: Envelope[] = [];
      b!.setHandler((e) => received.push(e));
      for (let i = 0; i < 40; i++) a!.send('b', envelope('a', 'b', patterned(100, i)));
      await settle([a!, b!]);
      expect(received).toHaveLength(40);
      received.forEach((e, i) => expect(Array.from(e.payload as Uint8Array)).toEqual(Array.from(patterned(100, i))));
      const stats = a!.stats();
      expect(stats.chunksSent).toBe(0);
      // About 120 bytes per envelope: 8 fit in 1024 bytes, so 5 messages rather than 40.
      expect(stats.messagesSent).toBeLessThanOrEqual(6);
      expect(stats.messagesSent).toBeGreaterThanOrEqual(5);
    } finally {
      await closeAll([a!, b!]);
    }
  });

  describe('with chunks published by hand (as node n2, on its own subject)', () => {
    let raw: NatsConnection;
    beforeAll(async () => {
      raw = await connect({ servers: server.url });
    });
    afterAll(async () => {
      await raw.close();
    });

    function publishChunks(messageId: number, batch: Uint8Array, skip: number | undefined): number {
      const chunks = splitIntoChunks(batch, 500);
      chunks.forEach((chunk, index) => {
        if (index === skip) return;
        const h = headers();
        h.set(CHUNK_HEADER, formatChunkHeader({ messageId, index, count: chunks.length }));
        raw.publish(peerSubject('test-cluster', 'n1', 'n2'), chunk, { headers: h });
      });
      return chunks.length;
    }

    it('drops a message that lost a chunk, never delivering part of it, and delivers the next one whole', async () => {
      const n1 = await startTransport(server.url, 'n1', ['n2']);
      try {
        const received: Envelope[] = [];
        n1.setHandler((e) => received.push(e));
        const lost = patterned(3_000, 1);
        const whole = patterned(3_000, 2);
        expect(publishChunks(1, batchOf(envelope('n2', 'n1', lost)), 3)).toBeGreaterThan(4);
        publishChunks(2, batchOf(envelope('n2', 'n1', whole)), undefined);
        await raw.flush();
        await eventually(() => received.length === 1, 3_000, 'the whole message');
        expect(Buffer.from(received[0]!.payload as Uint8Array).equals(Buffer.from(whole))).toBe(true);
        expect(n1.stats().droppedChunkedMessages).toBe(1);
      } finally {
        await n1.close();
      }
    });

    it('refuses junk payloads and malformed chunk headers without harm, and carries on', async () => {
      const n1 = await startTransport(server.url, 'n1', ['n2']);
      try {
        const received: Envelope[] = [];
        n1.setHandler((e) => received.push(e));
        const subject = peerSubject('test-cluster', 'n1', 'n2');
        raw.publish(subject, new Uint8Array([0x0a, 0xff, 0xff]));
        raw.publish(subject, new Uint8Array([0x0a, 0x02, 0x01, 0x02]));
        const h = headers();
        h.set(CHUNK_HEADER, 'not a chunk header');
        raw.publish(subject, new Uint8Array([1]), { headers: h });
        raw.publish(subject, batchOf(envelope('n2', 'n1', patterned(10, 4))));
        await raw.flush();
        await eventually(() => received.length === 1, 3_000, 'the good message');
        expect(n1.stats().rejectedMessages).toBe(3);
        expect(n1.stats().peers.get('n2')?.rejectedMessages).toBe(3);
      } finally {
        await n1.close();
      }
    });

    it('drops a message whose last chunk never comes, after reassemblyTimeoutMs', async () => {
      const n1 = await startTransport(server.url, 'n1', ['n2'], { reassemblyTimeoutMs: 200 });
      try {
        const received: Envelope[] = [];
        n1.setHandler((e) => received.push(e));
        const count = publishChunks(5, batchOf(envelope('n2', 'n1', patterned(3_000, 3))), 6);
        expect(count).toBe(7);
        await raw.flush();
        await eventually(() => n1.stats().droppedChunkedMessages === 1, 3_000, 'the timeout');
        expect(received).toEqual([]);
      } finally {
        await n1.close();
      }
    });
  });
});

describe('Reassembler', () => {
  function setup(maxBytes = 1_000, timeoutMs = 100) {
    const clock = new VirtualClock();
    const drops: [string, ChunkDropReason][] = [];
    const reassembler = new Reassembler(maxBytes, timeoutMs, clock, (from, reason) => drops.push([from, reason]));
    return { clock, drops, reassembler };
  }
  const bytes = (...values: number[]) => new Uint8Array(values);

  it('joins the chunks of one sender in order, and keeps senders apart', () => {
    const { reassembler, drops } = setup();
    expect(reassembler.add('a', { messageId: 1, index: 0, count: 2 }, bytes(1, 2))).toBeUndefined();
    expect(reassembler.add('b', { messageId: 1, index: 0, count: 2 }, bytes(9))).toBeUndefined();
    expect(Array.from(reassembler.add('a', { messageId: 1, index: 1, count: 2 }, bytes(3))!)).toEqual([1, 2, 3]);
    expect(Array.from(reassembler.add('b', { messageId: 1, index: 1, count: 2 }, bytes(8))!)).toEqual([9, 8]);
    expect(drops).toEqual([]);
    expect(reassembler.inProgress).toBe(0);
  });

  it('drops a message with a gap, and the chunks after it', () => {
    const { reassembler, drops } = setup();
    reassembler.add('a', { messageId: 1, index: 0, count: 3 }, bytes(1));
    expect(reassembler.add('a', { messageId: 1, index: 2, count: 3 }, bytes(3))).toBeUndefined();
    expect(reassembler.add('a', { messageId: 1, index: 3, count: 4 }, bytes(4))).toBeUndefined();
    expect(drops).toEqual([['a', 'missing-chunk']]);
    expect(reassembler.inProgress).toBe(0);
  });

  it('starts afresh on a first chunk, dropping the message it interrupted', () => {
    const { reassembler, drops } = setup();
    reassembler.add('a', { messageId: 1, index: 0, count: 3 }, bytes(1));
    reassembler.add('a', { messageId: 2, index: 0, count: 2 }, bytes(5));
    expect(Array.from(reassembler.add('a', { messageId: 2, index: 1, count: 2 }, bytes(6))!)).toEqual([5, 6]);
    expect(drops).toEqual([['a', 'missing-chunk']]);
  });

  it('drops a chunk of another message id than the one in progress', () => {
    const { reassembler, drops } = setup();
    reassembler.add('a', { messageId: 1, index: 0, count: 3 }, bytes(1));
    expect(reassembler.add('a', { messageId: 7, index: 1, count: 3 }, bytes(2))).toBeUndefined();
    expect(drops).toEqual([['a', 'missing-chunk']]);
  });

  it('drops a message that grows past maxBytes', () => {
    const { reassembler, drops } = setup(4);
    reassembler.add('a', { messageId: 1, index: 0, count: 3 }, bytes(1, 2));
    reassembler.add('a', { messageId: 1, index: 1, count: 3 }, bytes(3, 4, 5));
    expect(drops).toEqual([['a', 'too-large']]);
  });

  it('drops a message not complete within the timeout', () => {
    const { reassembler, drops, clock } = setup(1_000, 100);
    reassembler.add('a', { messageId: 1, index: 0, count: 2 }, bytes(1));
    clock.advance(99);
    expect(drops).toEqual([]);
    clock.advance(1);
    expect(drops).toEqual([['a', 'timeout']]);
    expect(reassembler.add('a', { messageId: 1, index: 1, count: 2 }, bytes(2))).toBeUndefined();
  });

  it('keeps its own copy of each chunk, so a reused receive buffer cannot alter it', () => {
    const { reassembler } = setup();
    const buffer = bytes(1, 2);
    reassembler.add('a', { messageId: 1, index: 0, count: 2 }, buffer);
    buffer.fill(0);
    expect(Array.from(reassembler.add('a', { messageId: 1, index: 1, count: 2 }, bytes(3))!)).toEqual([1, 2, 3]);
  });
});
