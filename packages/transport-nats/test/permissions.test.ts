import { connect, nkeys, type NatsConnection } from '@nats-io/transport-node';
import type { Envelope, NodeId } from '@synod/core';
import { createEnvelopeCodec } from '@synod/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsConnectError, NatsTransport, peerSubject, type NatsAuth } from '../src/index.js';
import { batchEntrySize, encodeEnvelopeBatch } from '@synod/protocol';
import { BYTE_PROTOCOLS, capturingLogger, closeAll, eventually, settle } from './helpers.js';
import { NatsServer } from '../src/nats-server.js';

const CLUSTER = 'perm';
const codec = createEnvelopeCodec({ payloadCodecs: BYTE_PROTOCOLS });
const nkeyUser = nkeys.createUser();

/** The permissions the README documents for node `id`: publish on subjects that name it as sender, subscribe on its own tree, answer what it receives. */
function nodeUser(id: string, publish = [`synod.${CLUSTER}.*.${id}`], subscribe = [`synod.${CLUSTER}.${id}.>`], allowResponses = true): string {
  return `{ user: ${id}, password: pw-${id}, permissions: { publish: ${JSON.stringify(publish)}, subscribe: ${JSON.stringify(subscribe)}, allow_responses: ${allowResponses} } }`;
}

const AUTHORIZATION = `authorization {
  users = [
    ${nodeUser('n1')}
    ${nodeUser('n2')}
    ${nodeUser('n4')}
    # n3 may publish to n2 only: it is missing the right to reach n1.
    ${nodeUser('n3', [`synod.${CLUSTER}.n2.n3`])}
    # n5 may not subscribe on its own subjects.
    ${nodeUser('n5', [`synod.${CLUSTER}.*.n5`], [`synod.${CLUSTER}.elsewhere`])}
    # n7 lacks allow_responses: it cannot acknowledge.
    ${nodeUser('n7', undefined, undefined, false)}
    { nkey: ${nkeyUser.getPublicKey()}, permissions: { publish: ["synod.${CLUSTER}.*.n6"], subscribe: ["synod.${CLUSTER}.n6.>"], allow_responses: true } }
  ]
}`;

function envelope(from: string, to: string, byte = 1): Envelope {
  return { clusterId: CLUSTER, from, to, protocol: 'raft', payload: new Uint8Array([byte]) };
}

function batchOf(e: Envelope): Uint8Array {
  const bytes = codec.encode(e);
  return encodeEnvelopeBatch([bytes], batchEntrySize(bytes.byteLength));
}

describe('with a nats-server that enforces the documented subject permissions', () => {
  let server: NatsServer;
  const open: NatsTransport[] = [];
  beforeAll(async () => {
    server = await NatsServer.start({ extraConfig: AUTHORIZATION });
  });
  afterAll(async () => {
    await closeAll(open);
    await server.dispose();
  });

  async function node(id: NodeId, peers: NodeId[], auth: NatsAuth = { user: id, pass: `pw-${id}` }, extra: Partial<ConstructorParameters<typeof NatsTransport>[0]> = {}) {
    const transport = new NatsTransport({ localId: id, clusterId: CLUSTER, peers, servers: server.url, auth, payloadCodecs: BYTE_PROTOCOLS, ackTimeoutMs: 500, ...extra });
    open.push(transport);
    await transport.start();
    return transport;
  }

  async function rawAs(user: string): Promise<NatsConnection> {
    return connect({ servers: server.url, user, pass: `pw-${user}` });
  }

  it('lets nodes with exactly those permissions exchange envelopes and acknowledge each other', async () => {
    const n1 = await node('n1', ['n2']);
    const n2 = await node('n2', ['n1']);
    const at1: Envelope[] = [];
    const at2: Envelope[] = [];
    n1.setHandler((e) => at1.push(e));
    n2.setHandler((e) => at2.push(e));
    n1.send('n2', envelope('n1', 'n2', 1));
    n2.send('n1', envelope('n2', 'n1', 2));
    await settle([n1, n2]);
    expect(at1.map((e) => e.from)).toEqual(['n2']);
    expect(at2.map((e) => e.from)).toEqual(['n1']);
    // The acknowledgements are responses (allow_responses), not publishes on a peer's tree.
    await eventually(() => n1.stats().peers.get('n2')?.reachability === 'reachable' && n2.stats().peers.get('n1')?.reachability === 'reachable', 2_000, 'acks');
    expect(n1.stats().permissionViolations + n2.stats().permissionViolations).toBe(0);
    await closeAll([n1, n2]);
  });

  it('a node cannot speak for another: the server refuses the subject, and a forged from on its own subject is refused by the receiver', async () => {
    const logger = capturingLogger();
    const n1 = await node('n1', ['n2', 'n4'], undefined, { logger });
    const received: Envelope[] = [];
    n1.setHandler((e) => received.push(e));
    const n4 = await rawAs('n4');
    const serverErrors: string[] = [];
    void (async () => {
      for await (const status of n4.status()) if (status.type === 'error') serverErrors.push(status.error.message);
    })();
    // On n2's subject: the server refuses it (n4 may publish only on subjects ending in .n4).
    n4.publish(peerSubject(CLUSTER, 'n1', 'n2'), batchOf(envelope('n2', 'n1', 7)));
    // On its own subject, claiming to be n2: the subject says n4, so n1 refuses it.
    n4.publish(peerSubject(CLUSTER, 'n1', 'n4'), batchOf(envelope('n2', 'n1', 8)));
    await n4.flush();
    await eventually(() => n1.stats().rejectedMessages === 1, 2_000, 'the refusal');
    await eventually(() => serverErrors.length > 0, 2_000, 'the permission error');
    expect(serverErrors[0]).toMatch(/Permissions Violation for Publish to "synod\.perm\.n1\.n2"/);
    expect(received).toEqual([]);
    expect(n1.stats().peers.get('n4')?.rejectedMessages).toBe(1);
    expect(logger.at('warn', 'refused a message from a peer')[0]?.fields.reason).toMatch(/claims to be from "n2" but came on node "n4"'s subject/);
    await n4.close();
    await n1.close();
  });

  it('reports a peer this node has no right to publish to as unreachable, and logs why, instead of going silently deaf', async () => {
    const logger = capturingLogger();
    const n1 = await node('n1', ['n3']);
    const n3 = await node('n3', ['n1', 'n2'], undefined, { logger, unreachableReportIntervalMs: 100 });
    const reports: { peer: NodeId; cause: string }[] = [];
    n3.onUnreachable((peer, cause) => reports.push({ peer, cause: cause?.message ?? '' }));
    const received: Envelope[] = [];
    n1.setHandler((e) => received.push(e));
    n3.send('n1', envelope('n3', 'n1'));
    await eventually(() => reports.some((r) => r.peer === 'n1'), 3_000, 'the report');
    expect(reports.find((r) => r.peer === 'n1')!.cause).toMatch(/not permitted to publish to synod\.perm\.n1\.n3/);
    expect(n3.stats().permissionViolations).toBeGreaterThanOrEqual(1);
    expect(logger.at('warn', 'lacks permission to publish')[0]?.fields).toMatchObject({ subject: 'synod.perm.n1.n3', peer: 'n1' });
    expect(received).toEqual([]);
    await closeAll([n1, n3]);
  });

  it('a node without allow_responses receives but cannot acknowledge: it says so once, and its peers report it unreachable', async () => {
    const logger = capturingLogger();
    const n1 = await node('n1', ['n7'], undefined, { ackTimeoutMs: 300 });
    const n7 = await node('n7', ['n1'], undefined, { logger });
    const reports: NodeId[] = [];
    n1.onUnreachable((peer) => reports.push(peer));
    const received: Envelope[] = [];
    n7.setHandler((e) => received.push(e));
    for (let i = 0; i < 3; i++) {
      n1.send('n7', envelope('n1', 'n7', i));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await eventually(() => reports.includes('n7'), 3_000, 'the report');
    expect(received.length).toBe(3);
    expect(logger.at('warn', 'needs allow_responses')).toHaveLength(1);
    await closeAll([n1, n7]);
  });

  it('start fails with a clear error naming the server when the password is wrong', async () => {
    const error = await node('n1', ['n2'], { user: 'n1', pass: 'wrong' }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(NatsConnectError);
    expect((error as Error).message).toContain(server.url);
    expect((error as Error).message).toMatch(/Authorization Violation/i);
  });

  it('start fails with a clear error when the node may not subscribe to its own subjects', async () => {
    const error = await node('n5', ['n1']).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(NatsConnectError);
    expect((error as Error).message).toMatch(/refused node n5 the subscription to synod\.perm\.n5\.>/);
  });

  it('authenticates with an NKey seed', async () => {
    const n6 = await node('n6', ['n1'], { nkeySeed: new TextDecoder().decode(nkeyUser.getSeed()) });
    const n1 = await node('n1', ['n6']);
    const received: Envelope[] = [];
    n1.setHandler((e) => received.push(e));
    n6.send('n1', envelope('n6', 'n1'));
    await settle([n1, n6]);
    expect(received.map((e) => e.from)).toEqual(['n6']);
    await closeAll([n1, n6]);
  });
});

describe('with token authentication', () => {
  it('connects with the right token and fails clearly with a wrong one', async () => {
    const server = await NatsServer.start({ extraConfig: 'authorization { token: "s3cret" }' });
    try {
      const good = new NatsTransport({ localId: 'n1', clusterId: CLUSTER, peers: [], servers: server.url, auth: { token: 's3cret' } });
      await good.start();
      expect(good.stats().connection).toBe('connected');
      await good.close();
      const bad = new NatsTransport({ localId: 'n1', clusterId: CLUSTER, peers: [], servers: server.url, auth: { token: 'nope' } });
      const error = await bad.start().catch((err: unknown) => err);
      expect(error).toBeInstanceOf(NatsConnectError);
      expect((error as Error).message).toContain(server.url);
      await bad.close();
    } finally {
      await server.dispose();
    }
  });
});
