import { MemoryStorage, TimeoutError } from '@synod/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSynodNatsServer, SynodNatsClient, SynodRpcError, type SynodNatsServer } from '../src/index.js';
import { NatsServer } from '../src/nats-server.js';
import { eventually } from './helpers.js';

const CLUSTER = 'api';
const IDS = ['n1', 'n2', 'n3'];

/** Node users with the permissions the README documents, and a client user that may only make requests. */
const AUTHORIZATION = `authorization {
  users = [
${IDS.map(
  (id) =>
    `    { user: ${id}, password: pw-${id}, permissions: { publish: ["synod.${CLUSTER}.*.${id}"], subscribe: ["synod.${CLUSTER}.${id}.>", "synod-api.${CLUSTER}.>"], allow_responses: true } }`,
).join('\n')}
    { user: app, password: pw-app, permissions: { publish: ["synod-api.>"], subscribe: ["_INBOX.>"] } }
  ]
}`;

describe('KV and Cluster over NATS request/reply (three in-process nodes, documented permissions)', () => {
  let broker: NatsServer;
  let servers: SynodNatsServer[];
  let client: SynodNatsClient;

  beforeAll(async () => {
    broker = await NatsServer.start({ extraConfig: AUTHORIZATION });
    servers = IDS.map((id) =>
      createSynodNatsServer({
        nodeId: id,
        clusterId: CLUSTER,
        peers: IDS,
        servers: broker.url,
        transport: { auth: { user: id, pass: `pw-${id}` }, ackTimeoutMs: 1_000 },
        storage: new MemoryStorage(),
        tickIntervalMs: 20,
      }),
    );
    await Promise.all(servers.map((server) => server.start()));
    client = new SynodNatsClient({ servers: broker.url, clusterId: CLUSTER, auth: { user: 'app', pass: 'pw-app' }, timeoutMs: 10_000 });
  }, 30_000);

  afterAll(async () => {
    await client?.close();
    await Promise.all((servers ?? []).map((server) => server.stop()));
    await broker?.dispose();
  });

  it('puts, reads linearizably, deletes and compares-and-swaps, then goes straight to the leader', async () => {
    const put = await client.put('greeting', 'hello');
    expect(put.revision).toBeGreaterThan(0);
    expect(put.prevKv).toBeUndefined();
    expect((await client.get('greeting')).kv?.value).toBe('hello');
    const second = await client.put('greeting', 'hi');
    expect(second.prevKv?.value).toBe('hello');
    const failedCas = await client.compareAndSwap('greeting', { value: 'nope' }, 'x');
    expect(failedCas.succeeded).toBe(false);
    expect(failedCas.kv?.value).toBe('hi');
    const cas = await client.compareAndSwap('greeting', { value: 'hi' }, 'swapped');
    expect(cas.succeeded).toBe(true);
    expect((await client.get('greeting', { consistency: 'serializable' })).kv?.value).toBe('swapped');
    const deleted = await client.delete('greeting');
    expect(deleted.deleted).toBe(true);
    expect((await client.get('greeting')).kv).toBeUndefined();
    const leader = servers.find((server) => server.node.status().role === 'leader')!;
    expect(client.preferredMember).toBe(leader.nodeId);
  });

  it('any node answers through the queue group, forwarding writes to the leader', async () => {
    // A client that never learns the leader: every request goes to the queue group.
    const viaGroup = new SynodNatsClient({ servers: broker.url, clusterId: CLUSTER, auth: { user: 'app', pass: 'pw-app' } });
    try {
      for (let i = 0; i < 12; i++) await viaGroup.put(`group/${i}`, String(i));
      const answered = new Set<string>();
      for (let i = 0; i < 12; i++) answered.add((await viaGroup.memberStatus(undefined)).id);
      expect(answered.size).toBeGreaterThan(1);
      for (let i = 0; i < 12; i++) expect((await client.get(`group/${i}`)).kv?.value).toBe(String(i));
    } finally {
      await viaGroup.close();
    }
  });

  it('status lists every member with one leader', async () => {
    const answers = await client.status();
    expect(answers.map((a) => a.endpoint)).toEqual(IDS);
    const leaders = answers.filter((a) => 'role' in a && a.role === 'leader');
    expect(leaders).toHaveLength(1);
    await eventually(() => servers.every((s) => s.node.status().leader === leaders[0]!.endpoint), 2_000, 'agreement');
  });

  it('Status with include_state_hash gives each member the digest of its state, equal at equal indexes', async () => {
    await client.put('hash/a', '1');
    await eventually(() => new Set(servers.map((s) => s.node.status().appliedIndex)).size === 1, 5_000, 'equal applied indexes');
    const statuses = await Promise.all(IDS.map((id) => client.memberStatus(id, { includeStateHash: true })));
    for (const status of statuses) {
      expect(status.stateHash).toMatch(/^[0-9a-f]{64}$/);
      expect(status.stateIndex).toBeGreaterThan(0);
    }
    const atIndex = new Map<number, Set<string>>();
    for (const s of statuses) atIndex.set(s.stateIndex!, (atIndex.get(s.stateIndex!) ?? new Set()).add(s.stateHash!));
    for (const hashes of atIndex.values()) expect(hashes.size).toBe(1);
  });

  it('TransferLeadership on the leader hands over to the named member; a follower answers NOT_LEADER', async () => {
    const leader = servers.find((server) => server.node.status().role === 'leader')!;
    const [target, other] = IDS.filter((id) => id !== leader.nodeId) as [string, string];
    await expect(client.transferLeadership(other, target)).rejects.toMatchObject({ reason: 'NOT_LEADER' });
    expect(IDS).toContain(await client.transferLeadership(leader.nodeId, target, { timeoutMs: 5_000 }));
    await eventually(() => servers.every((s) => s.node.status().leader === target), 5_000, 'the new leader');
  });

  it('bad input gets a typed INVALID_ARGUMENT at once, not retries', async () => {
    const started = Date.now();
    const error = await client.put('k', new Uint8Array([0xff, 0xfe])).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SynodRpcError);
    expect(error).toMatchObject({ reason: 'INVALID_ARGUMENT', grpcCode: 3 });
    expect((error as Error).message).toMatch(/UTF-8/);
    expect(Date.now() - started).toBeLessThan(2_000);
    const unsupported = await client.compareAndSwap('k', { modRevision: 2 ** 60 }, 'v').catch((err: unknown) => err);
    expect(unsupported).toMatchObject({ reason: 'INVALID_ARGUMENT' });
  });

  it('wrong credentials fail at once with NATS_AUTHORIZATION naming the server', async () => {
    const wrong = new SynodNatsClient({ servers: broker.url, clusterId: CLUSTER, auth: { user: 'app', pass: 'wrong' } });
    try {
      const started = Date.now();
      const error = await wrong.put('k', 'v').catch((err: unknown) => err);
      expect(error).toBeInstanceOf(SynodRpcError);
      expect(error).toMatchObject({ reason: 'NATS_AUTHORIZATION', grpcCode: 16 });
      expect((error as Error).message).toContain(broker.url);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await wrong.close();
    }
  });

  it('a cluster nobody serves: NATS_NO_RESPONDERS, retried until the deadline, then TimeoutError', async () => {
    const elsewhere = new SynodNatsClient({ servers: broker.url, clusterId: 'other', auth: { user: 'app', pass: 'pw-app' } });
    try {
      const error = await elsewhere.get('k', { timeoutMs: 600 }).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(TimeoutError);
      expect((error as Error).cause).toMatchObject({ reason: 'NATS_NO_RESPONDERS', grpcCode: 14 });
      expect((error as Error).message).toMatch(/no Synod node of cluster 'other' serves synod-api\.other\.KV\.Get/);
    } finally {
      await elsewhere.close();
    }
    await expect(elsewhere.get('k')).rejects.toThrow(/closed/);
  });
});
