import { createServer } from 'node:net';
import { status } from '@grpc/grpc-js';
import type { Envelope, NodeId } from '@synod/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { GrpcTransport } from '../src/index.js';
import { closeAll, eventually, startTransport, type Overrides } from './helpers.js';
import { RawPeer, helloFrame } from './raw-peer.js';

function envelope(from: NodeId, to: NodeId, seq: number, size = 1): Envelope {
  const payload = new Uint8Array(size);
  payload[0] = seq & 0xff;
  return { clusterId: 'test-cluster', from, to, protocol: 'raft', payload };
}

/** A loopback port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('GrpcTransport links', () => {
  let open: GrpcTransport[] = [];
  afterEach(async () => {
    await closeAll(open);
    open = [];
  });

  async function start(id: NodeId, overrides: Overrides = {}): Promise<GrpcTransport> {
    const transport = await startTransport(id, overrides);
    open.push(transport);
    return transport;
  }

  async function pair(overrides: Overrides = {}): Promise<{ a: GrpcTransport; b: GrpcTransport; atB: Envelope[] }> {
    const a = await start('a', overrides);
    const b = await start('b', overrides);
    a.setPeers({ b: b.boundAddress! });
    b.setPeers({ a: a.boundAddress! });
    const atB: Envelope[] = [];
    b.setHandler((e) => atB.push(e));
    await eventually(() => a.stats().peers.get('b')?.state === 'open' && b.stats().peers.get('a')?.state === 'open', 5_000, 'the link');
    return { a, b, atB };
  }

  describe('batching', () => {
    it('sends envelopes queued in one turn of the event loop as one frame', async () => {
      const { a, atB } = await pair();
      for (let seq = 0; seq < 100; seq++) a.send('b', envelope('a', 'b', seq));
      await eventually(() => atB.length === 100, 5_000, 'delivery');
      expect(a.stats().framesSent).toBe(1);
      expect(a.stats().envelopesSent).toBe(100);
      // The per-peer byte count is the frame's, the same as the transport's total with one peer.
      expect(a.stats().peers.get('b')?.bytesSent).toBe(a.stats().bytesSent);
      expect(a.stats().bytesSent).toBeGreaterThan(100);
      expect(atB.map((e) => (e.payload as Uint8Array)[0])).toEqual(Array.from({ length: 100 }, (_, i) => i));
    });

    it('the acceptor batches too', async () => {
      const { a, b } = await pair();
      const atA: Envelope[] = [];
      a.setHandler((e) => atA.push(e));
      for (let seq = 0; seq < 50; seq++) b.send('a', envelope('b', 'a', seq));
      await eventually(() => atA.length === 50, 5_000, 'delivery');
      expect(b.stats().framesSent).toBe(1);
    });

    it('splits a batch so no frame exceeds the message limit, in order', async () => {
      const max = 2_000;
      const { a, atB } = await pair({ maxMessageBytes: max });
      for (let seq = 0; seq < 40; seq++) a.send('b', envelope('a', 'b', seq, 300));
      await eventually(() => atB.length === 40, 5_000, 'delivery');
      const { framesSent, bytesSent } = a.stats();
      // 40 envelopes of ~330 bytes need at least 7 frames of at most 2,000 bytes.
      expect(framesSent).toBeGreaterThanOrEqual(7);
      expect(framesSent).toBeLessThan(40);
      expect(bytesSent / framesSent).toBeLessThanOrEqual(max + 12);
      expect(atB.map((e) => (e.payload as Uint8Array)[0])).toEqual(Array.from({ length: 40 }, (_, i) => i));
    });
  });

  describe('the bounded send queue', () => {
    it('drops the oldest envelopes when full, reports the peer, and sends the newest once the peer is up', async () => {
      const port = await freePort();
      const a = await start('a', { sendQueueLength: 4, unreachableReportIntervalMs: 60_000 });
      const unreachable: { peer: NodeId; cause?: Error }[] = [];
      a.onUnreachable((peer, cause) => unreachable.push({ peer, cause }));
      a.setPeers({ b: `127.0.0.1:${port}` });
      for (let seq = 0; seq < 10; seq++) a.send('b', envelope('a', 'b', seq));
      const link = a.stats().peers.get('b')!;
      expect(link.queuedEnvelopes).toBe(4);
      expect(link.dropped).toBe(6);
      await eventually(() => unreachable.some((u) => /send queue to b is full/.test(u.cause?.message ?? '')), 2_000, 'the report');
      // The peer comes up where it was expected: only the four newest arrive.
      const b = await start('b', { listen: `127.0.0.1:${port}` });
      const atB: Envelope[] = [];
      b.setHandler((e) => atB.push(e));
      b.setPeers({ a: a.boundAddress! });
      await eventually(() => atB.length === 4, 5_000, 'the queued envelopes');
      expect(atB.map((e) => (e.payload as Uint8Array)[0])).toEqual([6, 7, 8, 9]);
    });

    it('keeps memory bounded however long a peer stays down', async () => {
      const port = await freePort();
      const a = await start('a', { sendQueueLength: 1_000, sendQueueBytes: 64 * 1024, maxMessageBytes: 4 * 1024 });
      a.setPeers({ b: `127.0.0.1:${port}` });
      // An hour of heartbeats at 10/s, and then some: 50,000 sends of 100 bytes.
      for (let seq = 0; seq < 50_000; seq++) a.send('b', envelope('a', 'b', seq, 100));
      const link = a.stats().peers.get('b')!;
      expect(link.queuedBytes).toBeLessThanOrEqual(64 * 1024);
      expect(link.queuedEnvelopes).toBeLessThanOrEqual(1_000);
      expect(link.queuedEnvelopes + link.dropped).toBe(50_000);
    });

    it('reports a peer that has had no stream for longer than the connect timeout when sent to', async () => {
      const port = await freePort();
      // b sorts after a, so a cannot dial it: only a's own stream would open the link.
      const b = await start('b', { connectTimeoutMs: 100 });
      b.setPeers({ a: `127.0.0.1:${port}` });
      const unreachable: NodeId[] = [];
      b.onUnreachable((peer) => unreachable.push(peer));
      b.send('a', envelope('b', 'a', 1));
      await new Promise((resolve) => setTimeout(resolve, 150));
      b.send('a', envelope('b', 'a', 2));
      await eventually(() => unreachable.includes('a'), 2_000, 'the report');
    });
  });

  describe('reconnection', () => {
    const restarts = [
      { restarted: 'b', survivor: 'a', what: 'redials an acceptor that restarted' },
      { restarted: 'a', survivor: 'b', what: 'takes the new stream of a dialer that restarted' },
    ] as const;
    for (const { restarted, survivor, what } of restarts) {
      it(`${what}, and sends it what was queued meanwhile`, async () => {
        const nodes = await pair();
        const [gone, stays] = [nodes[restarted], nodes[survivor]];
        const address = gone.boundAddress!;
        await gone.close();
        open = open.filter((t) => t !== gone);
        await eventually(() => stays.stats().peers.get(restarted)?.state === 'down', 5_000, `${survivor} to notice`);
        stays.send(restarted, envelope(survivor, restarted, 7));
        const back = await start(restarted, { listen: address });
        const atBack: Envelope[] = [];
        back.setHandler((e) => atBack.push(e));
        back.setPeers({ [survivor]: stays.boundAddress! });
        await eventually(() => atBack.length === 1, 5_000, 'the queued envelope');
        expect((atBack[0]!.payload as Uint8Array)[0]).toBe(7);
      });
    }

    it('a newer stream from the same dialer replaces the old one, which ends with ABORTED', async () => {
      const b = await start('b');
      b.setPeers({ a: '127.0.0.1:1' });
      // The first stream: node a, as b saw it before a lost it without b noticing.
      const old = new RawPeer(b.boundAddress!);
      old.send(helloFrame({ nodeId: 'a', peerId: 'b' }));
      await eventually(() => b.stats().peers.get('a')?.state === 'open', 5_000, 'the first stream');
      const a = await start('a');
      a.setPeers({ b: b.boundAddress! });
      const ended = await old.status;
      old.close();
      expect(status[ended.code]).toBe('ABORTED');
      expect(ended.details).toMatch(/replaced by a newer stream/);
      const atA: Envelope[] = [];
      a.setHandler((e) => atA.push(e));
      b.send('a', envelope('b', 'a', 3));
      await eventually(() => atA.length === 1, 5_000, 'b to answer on the new stream');
    });
  });

  describe('close', () => {
    it('drains what is queued before it ends the streams', async () => {
      const { a, atB } = await pair();
      for (let seq = 0; seq < 200; seq++) a.send('b', envelope('a', 'b', seq, 100));
      await a.close();
      await eventually(() => atB.length === 200, 2_000, 'the drained envelopes');
    });

    it('finishes within its timeout when the peer does not answer', async () => {
      const port = await freePort();
      const a = await start('a', { closeTimeoutMs: 200 });
      a.setPeers({ b: `127.0.0.1:${port}` });
      a.send('b', envelope('a', 'b', 1));
      const started = Date.now();
      await a.close();
      expect(Date.now() - started).toBeLessThan(1_500);
    });
  });
});
