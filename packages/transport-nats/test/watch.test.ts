import { connect, headers as natsHeaders, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { MemoryStorage } from '@synod/core';
import { kvV1 } from '@synod/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSynodNatsServer, SynodNatsClient, SynodRpcError, WATCH_HEADERS, watchControlSubject, type SynodNatsServer, type WatchEvent } from '../src/index.js';
import { NatsServer } from '../src/nats-server.js';
import { eventually } from './helpers.js';

const CLUSTER = 'watch';
const IDS = ['n1', 'n2', 'n3'];

/** The README's permissions: nodes publish watch events, the client subscribes to them. */
const AUTHORIZATION = `authorization {
  users = [
${IDS.map(
  (id) =>
    `    { user: ${id}, password: pw-${id}, permissions: { publish: ["synod.${CLUSTER}.*.${id}", "synod-watch.${CLUSTER}.>"], subscribe: ["synod.${CLUSTER}.${id}.>", "synod-api.${CLUSTER}.>"], allow_responses: true } }`,
).join('\n')}
    { user: app, password: pw-app, permissions: { publish: ["synod-api.${CLUSTER}.>"], subscribe: ["_INBOX.>", "synod-watch.${CLUSTER}.>"] } }
  ]
}`;

const APP = { user: 'app', pass: 'pw-app' };

/** Collects a watch's events in the background until `stop`. */
function collect(client: SynodNatsClient, key: string, options: { prefix?: boolean; startRevision?: number } = {}) {
  const events: WatchEvent[] = [];
  const abort = new AbortController();
  let failure: unknown;
  const done = (async () => {
    try {
      for await (const event of client.watch(key, { ...options, signal: abort.signal })) events.push(event);
    } catch (error) {
      failure = error;
    }
  })();
  return {
    events,
    get failure() {
      return failure;
    },
    async stop() {
      abort.abort();
      await done;
    },
  };
}

function expectContiguous(events: readonly WatchEvent[], from: number, to: number): void {
  expect(events.map((e) => e.revision)).toEqual(Array.from({ length: to - from + 1 }, (_, i) => from + i));
}

describe('KV watch over NATS (three in-process nodes, a real nats-server with the documented permissions)', () => {
  let broker: NatsServer;
  let servers: SynodNatsServer[];
  let client: SynodNatsClient;

  const storages = new Map(IDS.map((id) => [id, new MemoryStorage()]));
  const startNode = (id: string, storage = storages.get(id)!): SynodNatsServer =>
    createSynodNatsServer({
      nodeId: id,
      clusterId: CLUSTER,
      peers: IDS,
      servers: broker.url,
      transport: { auth: { user: id, pass: `pw-${id}` }, ackTimeoutMs: 1_000, reconnect: { timeWaitMs: 100, jitterMs: 100 } },
      storage,
      tickIntervalMs: 20,
      kv: { watchHistorySize: 200 },
      maxWatchBufferBytes: 64 * 1024,
    });

  beforeAll(async () => {
    broker = await NatsServer.start({ extraConfig: AUTHORIZATION });
    servers = IDS.map((id) => startNode(id));
    await Promise.all(servers.map((server) => server.start()));
    client = new SynodNatsClient({ servers: broker.url, clusterId: CLUSTER, auth: APP, timeoutMs: 15_000, watchHeartbeatMs: 200 });
  }, 30_000);

  afterAll(async () => {
    await client?.close();
    await Promise.all((servers ?? []).map((server) => server.stop()));
    await broker?.dispose();
  });

  it('delivers every put and delete of a prefix in revision order, from a past revision too', async () => {
    const first = await client.put('order/0', 'v0');
    const watch = collect(client, 'order/', { prefix: true, startRevision: first.revision });
    let last = first.revision;
    for (let i = 1; i < 60; i++) last = (await client.put(`order/${i % 7}`, `v${i}`)).revision;
    last = (await client.delete('order/3')).revision;
    await client.put('elsewhere', 'not watched');
    await eventually(() => watch.events.length >= 61, 10_000, 'all events');
    await watch.stop();
    expectContiguous(watch.events, first.revision, last);
    expect(watch.events.at(-1)).toMatchObject({ type: 'delete', kv: { key: 'order/3' } });
    expect(watch.events[1]).toMatchObject({ type: 'put', kv: { key: 'order/1', value: 'v1' } });
  });

  it('a consumer that stops iterating cancels the watch on the member at once', async () => {
    await eventually(() => servers.every((s) => s.watchCount === 0), 5_000, 'no watches left from earlier tests');
    const start = (await client.put('cancel/a', '1')).revision;
    for await (const event of client.watch('cancel/a', { startRevision: start })) {
      expect(event.revision).toBe(start);
      expect(servers.reduce((n, s) => n + s.watchCount, 0)).toBe(1);
      break;
    }
    await eventually(() => servers.every((s) => s.watchCount === 0), 2_000, 'the watch cancelled');
  });

  it('a start revision that left the history fails with WATCH_COMPACTED, a bad one with INVALID_ARGUMENT, not retries', async () => {
    const first = (await client.put('compact/0', '0')).revision;
    for (let i = 1; i <= 210; i++) await client.put('compact/n', String(i));
    const drain = async (startRevision: number): Promise<unknown> =>
      (async () => {
        for await (const _ of client.watch('compact/', { prefix: true, startRevision })) break;
      })().catch((err: unknown) => err);
    const compacted = await drain(first);
    expect(compacted).toBeInstanceOf(SynodRpcError);
    expect(compacted).toMatchObject({ reason: 'WATCH_COMPACTED', grpcCode: 11 });
    const tooLarge = await drain(Number.MAX_SAFE_INTEGER + 10);
    expect(tooLarge).toMatchObject({ reason: 'INVALID_ARGUMENT' });
  }, 30_000);

  it('no event is lost while the member serving the watch stops and leadership moves', async () => {
    const base = (await client.put('move/0', 'start')).revision;
    const watch = collect(client, 'move/', { prefix: true, startRevision: base });
    await eventually(() => watch.events.length >= 1, 5_000, 'the watch open');
    const serving = servers.find((s) => s.watchCount > 0)!;
    const writes = (async () => {
      let last = base;
      for (let i = 1; i <= 40; i++) last = (await client.put(`move/${i % 5}`, `w${i}`)).revision;
      return last;
    })();
    await eventually(() => watch.events.length >= 10, 10_000, 'some events');
    const index = servers.indexOf(serving);
    await serving.stop();
    const last = await writes;
    await eventually(() => watch.events.length >= last - base + 1, 15_000, 'every event after the move');
    await watch.stop();
    expect(watch.failure).toBeUndefined();
    expectContiguous(watch.events, base, last);
    // Bring the member back, with its log, for the next tests.
    servers[index] = startNode(serving.nodeId, storages.get(serving.nodeId));
    await servers[index]!.start();
    const leaderApplied = (): number => Math.max(...servers.map((s) => s.node.status().appliedIndex));
    await eventually(() => servers[index]!.node.status().appliedIndex >= leaderApplied(), 15_000, 'the restarted member caught up');
  }, 40_000);

  it('no event is lost when the NATS server is killed and restarted mid-stream', async () => {
    const base = (await client.put('broker/0', 'start')).revision;
    const watch = collect(client, 'broker/', { prefix: true, startRevision: base });
    await eventually(() => watch.events.length >= 1, 10_000, 'the watch open');
    await broker.stop('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await broker.start();
    let last = base;
    for (let i = 1; i <= 20; i++) last = (await client.put(`broker/${i % 4}`, `b${i}`)).revision;
    await eventually(() => watch.events.length >= last - base + 1, 20_000, 'every event after the restart');
    await watch.stop();
    expect(watch.failure).toBeUndefined();
    expectContiguous(watch.events, base, last);
  }, 40_000);

  it('a watch started while no NATS server is reachable keeps trying (until its signal), rather than failing', async () => {
    const nowhere = new SynodNatsClient({ servers: 'nats://127.0.0.1:1', clusterId: CLUSTER, connectTimeoutMs: 200 });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 1_500);
    const seen: WatchEvent[] = [];
    try {
      for await (const event of nowhere.watch('k', { startRevision: 1, signal: abort.signal })) seen.push(event);
    } finally {
      await nowhere.close();
    }
    expect(seen).toEqual([]);
    expect(abort.signal.aborted).toBe(true);
  });

  describe('the protocol as a raw NATS client speaks it', () => {
    let nc: NatsConnection;
    beforeAll(async () => {
      nc = await connect({ servers: broker.url, user: APP.user, pass: APP.pass });
    });
    afterAll(async () => {
      await nc?.close();
    });

    /** Opens a watch by hand; returns what arrives on its subject. */
    async function openRaw(window: number, heartbeatMs: number, startRevision: number) {
      const subject = `synod-watch.${CLUSTER}.raw-${Math.random().toString(36).slice(2)}`;
      const received: Msg[] = [];
      const subscription = nc.subscribe(subject, { callback: (_err, msg) => void received.push(msg) });
      const h = natsHeaders();
      h.set(WATCH_HEADERS.subject, subject);
      h.set(WATCH_HEADERS.window, String(window));
      h.set(WATCH_HEADERS.heartbeatMs, String(heartbeatMs));
      const reply = await nc.request(`synod-api.${CLUSTER}.KV.Watch`, kvV1.WatchRequest.encode({ key: 'raw/', prefix: true, startRevision: BigInt(startRevision) }).finish(), {
        timeout: 3_000,
        headers: h,
      });
      const member = reply.headers?.get(WATCH_HEADERS.member) ?? '';
      const events = () => received.filter((m) => m.headers?.get(WATCH_HEADERS.kind) === 'event');
      const control = (kind: 'ack' | 'cancel', acked: number): void => {
        const c = natsHeaders();
        c.set(WATCH_HEADERS.subject, subject);
        c.set(WATCH_HEADERS.kind, kind);
        c.set(WATCH_HEADERS.acked, String(acked));
        nc.publish(watchControlSubject(CLUSTER, member), new Uint8Array(0), { headers: c });
      };
      return { member, received, events, control, subscription };
    }

    it('holds the member to the window until the client acknowledges', async () => {
      const base = (await client.put('raw/0', '0')).revision;
      for (let i = 1; i < 30; i++) await client.put(`raw/${i}`, String(i));
      const raw = await openRaw(5, 10_000, base);
      await eventually(() => raw.events().length >= 5, 3_000, 'the first window');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(raw.events()).toHaveLength(5);
      const lastSeq = Number(raw.received.at(-1)!.headers!.get(WATCH_HEADERS.seq));
      raw.control('ack', lastSeq);
      await eventually(() => raw.events().length >= 10, 3_000, 'the second window');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(raw.events()).toHaveLength(10);
      const revisions = raw.events().map((m) => Number(kvV1.WatchResponse.decode(m.data).header!.revision));
      expect(revisions).toEqual(Array.from({ length: 10 }, (_, i) => base + i));
      raw.control('cancel', 0);
      await eventually(() => servers.every((s) => s.watchCount === 0), 2_000, 'the watch cancelled');
      raw.subscription.unsubscribe();
    });

    it('a client that falls silent is dropped after three heartbeats', async () => {
      const base = (await client.put('raw/silent', '0')).revision;
      const raw = await openRaw(16, 100, base);
      await eventually(() => servers.reduce((n, s) => n + s.watchCount, 0) === 1, 2_000, 'the watch open');
      await eventually(() => servers.every((s) => s.watchCount === 0), 2_000, 'the silent watch dropped');
      expect(raw.received.some((m) => m.headers?.get(WATCH_HEADERS.kind) === 'heartbeat')).toBe(true);
      raw.subscription.unsubscribe();
    });

    it('a watch subject outside synod-watch.<cluster> is refused with INVALID_ARGUMENT', async () => {
      const h = natsHeaders();
      h.set(WATCH_HEADERS.subject, 'synod.watch.n1.n2');
      const reply = await nc.request(`synod-api.${CLUSTER}.KV.Watch`, kvV1.WatchRequest.encode({ key: 'k', prefix: false, startRevision: 0n }).finish(), {
        timeout: 3_000,
        headers: h,
      });
      expect(reply.headers?.get('synod-error')).toBe('INVALID_ARGUMENT');
    });
  });
});
