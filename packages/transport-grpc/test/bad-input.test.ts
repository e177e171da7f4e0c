import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { Envelope } from '@synod/core';
import { afterEach, describe, expect, it } from 'vitest';
import { peerServiceDefinition, type GrpcTransport } from '../src/index.js';
import { capturingLogger, closeAll, eventually, startTransport } from './helpers.js';
import { RawPeer, batchFrame, helloFrame } from './raw-peer.js';

// Ids sort a < b < c, so "a" dials "b" and "b" dials "c". "a" is the hostile
// peer, played by a RawPeer; the healthy link b–c runs beside its stream.
const MAX = 4 * 1024;

describe('bad input on the peer stream', () => {
  let open: GrpcTransport[] = [];
  let raw: RawPeer | undefined;
  afterEach(async () => {
    raw?.close();
    raw = undefined;
    await closeAll(open);
    open = [];
  });

  async function setup(): Promise<{ b: GrpcTransport; c: GrpcTransport; logger: ReturnType<typeof capturingLogger>; atB: Envelope[]; atC: Envelope[] }> {
    const logger = capturingLogger();
    const b = await startTransport('b', { logger, maxMessageBytes: MAX });
    const c = await startTransport('c', { maxMessageBytes: MAX });
    open = [b, c];
    // "a" is a member, so only its frames can get it refused.
    const peers = { a: '127.0.0.1:1', b: b.boundAddress!, c: c.boundAddress! };
    b.setPeers(peers);
    c.setPeers(peers);
    const atB: Envelope[] = [];
    const atC: Envelope[] = [];
    b.setHandler((e) => atB.push(e));
    c.setHandler((e) => atC.push(e));
    await eventually(() => b.stats().peers.get('c')?.state === 'open', 5_000, 'b–c link');
    return { b, c, logger, atB, atC };
  }

  /** After a refusal, b still serves its healthy peer both ways. */
  async function expectBStillServes(b: GrpcTransport, c: GrpcTransport, atB: Envelope[], atC: Envelope[]): Promise<void> {
    const before = { b: atB.length, c: atC.length };
    b.send('c', { clusterId: 'test-cluster', from: 'b', to: 'c', protocol: 'raft', payload: new Uint8Array([9]) });
    c.send('b', { clusterId: 'test-cluster', from: 'c', to: 'b', protocol: 'raft', payload: new Uint8Array([8]) });
    await eventually(() => atB.length === before.b + 1 && atC.length === before.c + 1, 5_000, 'b and c to exchange');
  }

  const cases: { name: string; frames: () => Uint8Array[]; code: status; reason: RegExp }[] = [
    { name: 'a malformed first frame', frames: () => [new Uint8Array([0xff, 0xff, 0xff])], code: status.INVALID_ARGUMENT, reason: /malformed frame/ },
    { name: 'a batch before any hello', frames: () => [batchFrame({ from: 'a', to: 'b' })], code: status.INVALID_ARGUMENT, reason: /first frame is not a hello/ },
    { name: 'a hello of another stream protocol version', frames: () => [helloFrame({ version: 2, nodeId: 'a', peerId: 'b' })], code: status.FAILED_PRECONDITION, reason: /version 2/ },
    { name: 'a hello of another cluster', frames: () => [helloFrame({ clusterId: 'other', nodeId: 'a', peerId: 'b' })], code: status.PERMISSION_DENIED, reason: /cluster id "other"/ },
    { name: 'a hello from a node outside the membership', frames: () => [helloFrame({ nodeId: 'intruder', peerId: 'b' })], code: status.PERMISSION_DENIED, reason: /"intruder" is not a member/ },
    { name: 'a hello meant for another node', frames: () => [helloFrame({ nodeId: 'a', peerId: 'z' })], code: status.INVALID_ARGUMENT, reason: /addressed to node "z"/ },
    { name: 'a dial against the dialling rule', frames: () => [helloFrame({ nodeId: 'c', peerId: 'b' })], code: status.FAILED_PRECONDITION, reason: /"b" dials node "c"/ },
    { name: 'a malformed frame after the hello', frames: () => [helloFrame({ nodeId: 'a', peerId: 'b' }), new Uint8Array([0x12, 0x05, 0x0a])], code: status.INVALID_ARGUMENT, reason: /malformed frame/ },
    { name: 'a malformed envelope inside a batch', frames: () => [helloFrame({ nodeId: 'a', peerId: 'b' }), new Uint8Array([0x12, 0x03, 0x0a, 0x01, 0xff])], code: status.INVALID_ARGUMENT, reason: /malformed envelope/ },
    ...['nope', '__proto__', 'constructor', 'toString'].map((protocol) => ({
      name: `an envelope of unknown protocol '${protocol}'`,
      frames: () => [helloFrame({ nodeId: 'a', peerId: 'b' }), batchFrame({ from: 'a', to: 'b', protocol })],
      code: status.INVALID_ARGUMENT,
      reason: new RegExp(`unknown protocol "${protocol}"`),
    })),
    { name: 'an envelope of another cluster', frames: () => [helloFrame({ nodeId: 'a', peerId: 'b' }), batchFrame({ clusterId: 'other', from: 'a', to: 'b' })], code: status.PERMISSION_DENIED, reason: /cluster "other"/ },
    { name: 'an envelope whose sender is not the stream\'s node', frames: () => [helloFrame({ nodeId: 'a', peerId: 'b' }), batchFrame({ from: 'c', to: 'b' })], code: status.PERMISSION_DENIED, reason: /from "c" on node "a"'s stream/ },
    { name: 'an envelope addressed to another node', frames: () => [helloFrame({ nodeId: 'a', peerId: 'b' }), batchFrame({ from: 'a', to: 'c' })], code: status.INVALID_ARGUMENT, reason: /addressed to "c"/ },
    {
      name: 'a frame over the size limit',
      frames: () => [helloFrame({ nodeId: 'a', peerId: 'b' }), batchFrame({ from: 'a', to: 'b', payload: new Uint8Array(MAX + 100) })],
      code: status.RESOURCE_EXHAUSTED,
      reason: /exceeds this node's limit/,
    },
    {
      name: 'a second hello',
      frames: () => [helloFrame({ nodeId: 'a', peerId: 'b' }), helloFrame({ nodeId: 'a', peerId: 'b' })],
      code: status.INVALID_ARGUMENT,
      reason: /second hello/,
    },
  ];

  for (const { name, frames, code, reason } of cases) {
    it(`ends the stream on ${name} with ${status[code]}, logs it once, and keeps serving its other peers`, async () => {
      const { b, c, logger, atB, atC } = await setup();
      raw = new RawPeer(b.boundAddress!);
      for (const frame of frames()) raw.send(frame);
      const ended = await raw.status;
      expect(status[ended.code]).toBe(status[code]);
      expect(ended.details).toMatch(reason);
      const refusals = logger.warnings('refused a peer stream');
      expect(refusals).toHaveLength(1);
      expect(refusals[0]!.fields['code']).toBe(status[code]);
      expect(b.stats().refusedStreams).toBe(1);
      // Nothing from the hostile stream reached the handler.
      expect(atB.filter((e) => e.from !== 'c')).toEqual([]);
      await expectBStillServes(b, c, atB, atC);
    });
  }

  it('refuses a frame far over the limit through gRPC itself, and logs the lost stream once', async () => {
    const { b, c, logger, atB, atC } = await setup();
    raw = new RawPeer(b.boundAddress!, undefined, { 'grpc.max_send_message_length': -1 });
    raw.send(helloFrame({ nodeId: 'a', peerId: 'b' }));
    await eventually(() => raw!.received.length === 1, 5_000, 'the answering hello');
    raw.send(batchFrame({ from: 'a', to: 'b', payload: new Uint8Array(4 * MAX) }));
    const ended = await raw.status;
    expect(ended.code).toBe(status.RESOURCE_EXHAUSTED);
    await eventually(() => logger.warnings('peer stream cancelled (by the peer, or by gRPC for a frame over its size cap)').length === 1);
    expect(atB).toEqual([]);
    await expectBStillServes(b, c, atB, atC);
  });

  it('delivers nothing of a batch that holds one bad envelope among good ones', async () => {
    const { b, logger, atB } = await setup();
    raw = new RawPeer(b.boundAddress!);
    raw.send(helloFrame({ nodeId: 'a', peerId: 'b' }));
    raw.send(batchFrame({ from: 'a', to: 'b' }, { from: 'a', to: 'b', protocol: '__proto__' }, { from: 'a', to: 'b' }));
    expect((await raw.status).code).toBe(status.INVALID_ARGUMENT);
    expect(logger.warnings('refused a peer stream')).toHaveLength(1);
    expect(atB).toEqual([]);
  });

  it('accepts a well-formed stream from the same raw peer, so the refusals above are not blanket ones', async () => {
    const { b, atB } = await setup();
    raw = new RawPeer(b.boundAddress!);
    raw.send(helloFrame({ nodeId: 'a', peerId: 'b' }));
    raw.send(batchFrame({ from: 'a', to: 'b', payload: new Uint8Array([4, 2]) }));
    await eventually(() => atB.length === 1, 5_000, 'delivery');
    expect(Array.from(atB[0]!.payload as Uint8Array)).toEqual([4, 2]);
  });
});

describe('bad input from the accepting side', () => {
  /** A server that answers every Connect with the frames given, playing a faulty acceptor "b". */
  async function rawAcceptor(answer: Uint8Array[]): Promise<{ address: string; server: grpc.Server; streams: () => number }> {
    const server = new grpc.Server();
    let streams = 0;
    server.addService(peerServiceDefinition, {
      connect: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        streams++;
        call.on('error', () => undefined);
        call.once('data', () => {
          for (const frame of answer) call.write(Buffer.from(frame));
        });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => (err === null ? resolve(bound) : reject(err))),
    );
    return { address: `127.0.0.1:${port}`, server, streams: () => streams };
  }

  const cases: { name: string; answer: Uint8Array[]; reason: RegExp }[] = [
    { name: 'a malformed answer', answer: [new Uint8Array([0x0a, 0x7f])], reason: /malformed frame/ },
    { name: 'an answering hello from another node', answer: [helloFrame({ nodeId: 'z', peerId: 'a' })], reason: /dialled node "b" but node "z" answered/ },
    { name: 'a batch of an unknown protocol', answer: [helloFrame({ nodeId: 'b', peerId: 'a' }), batchFrame({ from: 'b', to: 'a', protocol: '__proto__' })], reason: /unknown protocol "__proto__"/ },
  ];

  for (const { name, answer, reason } of cases) {
    it(`the dialler cancels on ${name}, logs it once, delivers nothing, and dials again later`, async () => {
      const acceptor = await rawAcceptor(answer);
      const logger = capturingLogger();
      const a = await startTransport('a', { logger, backoff: { initialMs: 20, maxMs: 50 } });
      const atA: Envelope[] = [];
      a.setHandler((e) => atA.push(e));
      try {
        a.setPeers({ b: acceptor.address });
        await eventually(() => acceptor.streams() >= 3, 5_000, 'redials');
        const refusals = logger.warnings('refused a peer stream');
        expect(refusals.length).toBeGreaterThanOrEqual(1);
        expect(refusals[0]!.fields['reason']).toMatch(reason);
        // One warning for the failure, however often it repeats.
        expect(logger.warnings('peer stream failed')).toHaveLength(1);
        expect(atA).toEqual([]);
      } finally {
        await a.close();
        acceptor.server.forceShutdown();
      }
    });
  }
});
