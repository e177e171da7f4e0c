import { connect } from '@nats-io/transport-node';
import { TransportClosedError, type Envelope, type NodeId } from '@synod/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsConnectError, NatsTransport, ownSubjects } from '../src/index.js';
import { BYTE_PROTOCOLS, capturingLogger, closeAll, eventually, startCluster, startTransport } from './helpers.js';
import { NatsServer } from '../src/nats-server.js';

function envelope(from: string, to: string, byte = 1): Envelope {
  return { clusterId: 'test-cluster', from, to, protocol: 'raft', payload: new Uint8Array([byte]) };
}

function collectUnreachable(transport: { onUnreachable(l: (peer: NodeId, cause?: Error) => void): () => void }) {
  const reports: { peer: NodeId; cause: string }[] = [];
  transport.onUnreachable((peer, cause) => reports.push({ peer, cause: cause?.message ?? '' }));
  return reports;
}

describe('unreachable peers are reported to the node', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    await server.dispose();
  });

  it('reports a member nobody subscribes for (the server answers "no responders")', async () => {
    const a = await startTransport(server.url, 'a', ['b']);
    try {
      const reports = collectUnreachable(a);
      a.send('b', envelope('a', 'b'));
      await eventually(() => reports.length > 0, 3_000, 'a report');
      expect(reports[0]!.peer).toBe('b');
      expect(reports[0]!.cause).toMatch(/no responders/);
      expect(a.stats().peers.get('b')?.reachability).toBe('unreachable');
    } finally {
      await a.close();
    }
  });

  it('reports a member that subscribes but never acknowledges (timeout)', async () => {
    // Something holds b's subjects (say a hung process) but never answers.
    const squatter = await connect({ servers: server.url });
    squatter.subscribe(ownSubjects('test-cluster', 'b'), { callback: () => undefined });
    await squatter.flush();
    const a = await startTransport(server.url, 'a', ['b'], { ackTimeoutMs: 300 });
    try {
      const reports = collectUnreachable(a);
      const started = Date.now();
      a.send('b', envelope('a', 'b'));
      await eventually(() => reports.length > 0, 3_000, 'a report');
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(reports[0]).toEqual({ peer: 'b', cause: 'node b did not acknowledge within 300 ms' });
    } finally {
      await a.close();
      await squatter.close();
    }
  });

  it('does not report a peer that acknowledges', async () => {
    const [a, b] = await startCluster(server.url, ['a', 'b'], () => ({ ackTimeoutMs: 2_000 }));
    try {
      const reports = collectUnreachable(a!);
      for (let i = 0; i < 5; i++) {
        a!.send('b', envelope('a', 'b', i));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await eventually(() => a!.stats().peers.get('b')?.reachability === 'reachable', 2_000, 'an acknowledgement');
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(reports).toEqual([]);
    } finally {
      await closeAll([a!, b!]);
    }
  });
});

describe('a lost connection to the NATS server', () => {
  it('reports every peer when the server goes, reports sends meanwhile, and carries traffic again after it returns', async () => {
    const server = await NatsServer.start();
    const logger = capturingLogger();
    const [a, b] = await startCluster(server.url, ['a', 'b'], (id) => (id === 'a' ? { logger, unreachableReportIntervalMs: 100 } : {}));
    try {
      const reports = collectUnreachable(a!);
      const received: Envelope[] = [];
      b!.setHandler((e) => received.push(e));
      await server.stop('SIGKILL');
      await eventually(() => reports.some((r) => r.peer === 'b' && /lost the connection/.test(r.cause)), 5_000, 'the disconnect report');
      expect(a!.stats().connection).toBe('reconnecting');
      expect(logger.at('warn', 'lost the NATS connection')).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 150));
      const before = reports.length;
      a!.send('b', envelope('a', 'b', 9));
      await eventually(() => reports.length > before, 2_000, 'a report of the send while disconnected');
      expect(reports.at(-1)!.cause).toMatch(/not connected/);

      await server.start();
      await eventually(() => a!.stats().connection === 'connected' && b!.stats().connection === 'connected', 10_000, 'both to reconnect');
      // What was sent meanwhile may beat b's own resubscription and be lost, as may the first sends after (b's
      // status can lag behind its socket); like consensus, keep sending until one arrives.
      const deadline = Date.now() + 5_000;
      while (!received.some((e) => (e.payload as Uint8Array)[0] === 10)) {
        if (Date.now() > deadline) throw new Error('nothing delivered within 5 s of the restart');
        a!.send('b', envelope('a', 'b', 10));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(logger.at('info', 'reconnected to NATS')).toHaveLength(1);
      // No tls option and a server without TLS: said once, at start.
      expect(logger.at('warn', 'the NATS connection is plaintext')).toHaveLength(1);
    } finally {
      await closeAll([a!, b!]);
      await server.dispose();
    }
  });

  it('close during start makes start fail with TransportClosedError, and leaves nothing connected', async () => {
    const server = await NatsServer.start();
    try {
      const a = new NatsTransport({ localId: 'a', clusterId: 'test-cluster', peers: ['b'], servers: server.url, payloadCodecs: BYTE_PROTOCOLS });
      const starting = a.start();
      await a.close();
      await expect(starting).rejects.toBeInstanceOf(TransportClosedError);
      expect(a.connection === undefined || a.connection.isClosed()).toBe(true);
    } finally {
      await server.dispose();
    }
  });

  it('start fails with a NatsConnectError that names the server when none is listening', async () => {
    const server = await NatsServer.start();
    const url = server.url;
    await server.dispose();
    const error = await startTransport(url, 'a', ['b'], { connectTimeoutMs: 1_000 }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(NatsConnectError);
    expect((error as NatsConnectError).message).toContain(url);
    expect((error as NatsConnectError).servers).toEqual([url]);
  });
});

describe('membership and a shared connection', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterAll(async () => {
    await server.dispose();
  });

  it('refuses messages from a peer that left the membership, and reports sends to it', async () => {
    const [a, b] = await startCluster(server.url, ['a', 'b']);
    try {
      const atA: Envelope[] = [];
      a!.setHandler((e) => atA.push(e));
      a!.setPeers(['c']);
      const reports = collectUnreachable(a!);
      b!.send('a', envelope('b', 'a'));
      a!.send('b', envelope('a', 'b'));
      await eventually(() => a!.stats().rejectedMessages === 1, 2_000, 'the refusal');
      await eventually(() => reports.some((r) => r.peer === 'b'), 2_000, 'the report');
      expect(atA).toEqual([]);
      expect(a!.stats().peers.has('b')).toBe(false);
    } finally {
      await closeAll([a!, b!]);
    }
  });

  it('works on a connection it is given, and leaves that connection open when it closes', async () => {
    const shared = await connect({ servers: server.url });
    const a = new NatsTransport({ localId: 'a', clusterId: 'test-cluster', peers: ['b'], connection: shared, payloadCodecs: BYTE_PROTOCOLS });
    const b = await startTransport(server.url, 'b', ['a']);
    try {
      await a.start();
      expect(a.connection).toBe(shared);
      const atB: Envelope[] = [];
      b.setHandler((e) => atB.push(e));
      a.send('b', envelope('a', 'b', 5));
      await eventually(() => atB.length === 1, 2_000, 'delivery');
      await a.close();
      expect(shared.isClosed()).toBe(false);
      // Unsubscribed: a message to a is now answered "no responders".
      const reports = collectUnreachable(b);
      b.send('a', envelope('b', 'a'));
      await eventually(() => reports.some((r) => /no responders/.test(r.cause)), 2_000, 'no responders for a');
    } finally {
      await a.close();
      await b.close();
      await shared.close();
    }
  });

  it('reports every peer, and every send, once its connection is closed for good under it', async () => {
    const shared = await connect({ servers: server.url });
    const logger = capturingLogger();
    const a = new NatsTransport({
      localId: 'a',
      clusterId: 'test-cluster',
      peers: ['b'],
      connection: shared,
      payloadCodecs: BYTE_PROTOCOLS,
      logger,
      unreachableReportIntervalMs: 50,
    });
    try {
      await a.start();
      const reports = collectUnreachable(a);
      await shared.close();
      await eventually(() => a.stats().connection === 'closed' && reports.some((r) => /closed/.test(r.cause)), 2_000, 'the report');
      expect(logger.at('error', 'closed for good')).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 60));
      const before = reports.length;
      expect(() => a.send('b', envelope('a', 'b'))).not.toThrow();
      await eventually(() => reports.length > before, 2_000, 'a report of the send');
      expect(reports.at(-1)).toEqual({ peer: 'b', cause: 'the NATS connection is closed' });
    } finally {
      await a.close();
    }
  });
});
