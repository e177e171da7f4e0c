import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';
import { kvV1 } from '@synod/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRpcStatus, SynodClient, SynodRpcError } from '../../src/index.js';
import { startInProcessCluster, type InProcessCluster } from './in-process-cluster.js';

const require = createRequire(import.meta.url);

let cluster: InProcessCluster;
let client: SynodClient;

beforeAll(async () => {
  cluster = await startInProcessCluster();
  client = new SynodClient({ endpoints: cluster.endpoints, security: { insecure: true }, timeoutMs: 5_000 });
});

afterAll(async () => {
  client?.close();
  await cluster?.stop();
});

function follower(): string {
  return cluster.servers.find((s) => s !== cluster.leader())!.boundAddress!;
}

describe('KV over gRPC', () => {
  it('puts, reads linearizably, deletes and compares-and-swaps', async () => {
    const put = await client.put('a', 'one');
    expect(put.revision).toBeGreaterThan(0);
    expect((await client.get('a')).kv?.value).toBe('one');
    const cas = await client.compareAndSwap('a', { value: 'one' }, 'two');
    expect(cas.succeeded).toBe(true);
    expect((await client.compareAndSwap('a', { value: 'one' }, 'three')).succeeded).toBe(false);
    expect((await client.compareAndSwap('b', { absent: true }, 'new')).succeeded).toBe(true);
    const deleted = await client.delete('a');
    expect(deleted.deleted).toBe(true);
    expect((await client.get('a')).kv).toBeUndefined();
  });

  it('a follower forwards writes and linearizable reads to the leader', async () => {
    const direct = new kvV1.KVClient(follower(), grpc.credentials.createInsecure());
    const put = await new Promise<kvV1.PutResponse>((resolve, reject) =>
      direct.put({ key: 'via-follower', value: Buffer.from('x'), session: undefined }, (e, r) => (e ? reject(e) : resolve(r))),
    );
    expect(put.header?.leaderHint).toBe(cluster.leader()!.nodeId);
    const got = await new Promise<kvV1.GetResponse>((resolve, reject) =>
      direct.get({ key: 'via-follower', consistency: kvV1.Consistency.CONSISTENCY_LINEARIZABLE }, (e, r) => (e ? reject(e) : resolve(r))),
    );
    expect(got.kv?.value.toString()).toBe('x');
    direct.close();
  });

  it('a retried put with the same session applies once', async () => {
    const direct = new kvV1.KVClient(cluster.endpoints[0]!, grpc.credentials.createInsecure());
    const put = (value: string): Promise<kvV1.PutResponse> =>
      new Promise((resolve, reject) =>
        direct.put({ key: 'once', value: Buffer.from(value), session: { clientId: 'retrier', sequence: 1n } }, (e, r) => (e ? reject(e) : resolve(r))),
      );
    const first = await put('v');
    const again = await put('v');
    expect(again.header?.revision).toBe(first.header?.revision);
    expect((await client.get('once')).kv?.version).toBe(1);
    direct.close();
  });

  it('bad input gets INVALID_ARGUMENT with a clear message and a google.rpc detail', async () => {
    const direct = new kvV1.KVClient(cluster.endpoints[0]!, grpc.credentials.createInsecure());
    const error = await new Promise<grpc.ServiceError>((resolve) =>
      direct.put({ key: 'k', value: Buffer.from([0xff, 0xfe]), session: undefined }, (e) => resolve(e!)),
    );
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toMatch(/UTF-8/);
    const detail = decodeRpcStatus(error.metadata.get('grpc-status-details-bin')[0] as Buffer);
    expect(detail?.errorInfo[0]?.reason).toBe('INVALID_ARGUMENT');
    await expect(client.put('', 'x')).rejects.toMatchObject({ reason: 'INVALID_ARGUMENT', grpcCode: grpc.status.INVALID_ARGUMENT });
    await expect(client.put('big', 'x'.repeat(2 * 1024 * 1024))).rejects.toBeInstanceOf(SynodRpcError);
    expect((await client.get('b')).kv?.value).toBe('new');
    direct.close();
  });

  it('a request that is not protobuf gets INVALID_ARGUMENT, not INTERNAL, and the node keeps serving', async () => {
    const raw = new grpc.Client(cluster.endpoints[0]!, grpc.credentials.createInsecure());
    for (const path of ['/synod.kv.v1.KV/Put', '/synod.cluster.v1.Cluster/Status']) {
      const error = await new Promise<grpc.ServiceError>((resolve) =>
        raw.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0x0a, 0xff, 0xff]), (e) => resolve(e!)),
      );
      expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error.details).toMatch(/malformed request/);
    }
    const stream = raw.makeServerStreamRequest('/synod.kv.v1.KV/Watch', (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0x18, 0xff]));
    const ended = await new Promise<grpc.StatusObject>((resolve) => {
      stream.on('error', () => undefined);
      stream.on('status', resolve);
    });
    expect(ended.code).toBe(grpc.status.INVALID_ARGUMENT);
    raw.close();
    expect((await client.get('b')).kv?.value).toBe('new');
  });

  it('watch streams changes from a revision and ends with OUT_OF_RANGE below the history', async () => {
    const start = (await client.put('w/1', 'a')).revision;
    await client.put('w/2', 'b');
    await client.delete('w/1');
    const seen: string[] = [];
    const controller = new AbortController();
    for await (const event of client.watch('w/', { prefix: true, startRevision: start, signal: controller.signal })) {
      seen.push(`${event.type}:${event.kv.key}@${event.revision}`);
      if (seen.length === 3) controller.abort();
    }
    expect(seen).toEqual([`put:w/1@${start}`, `put:w/2@${start + 1}`, `delete:w/1@${start + 2}`]);
  });
});

describe('health and reflection', () => {
  it('answers grpc.health.v1.Health/Check with SERVING', async () => {
    const Health = grpc.makeClientConstructor(healthService, 'grpc.health.v1.Health');
    const health = new Health(cluster.endpoints[1]!, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      check(request: { service: string }, callback: (error: grpc.ServiceError | null, response: { status: string }) => void): void;
    };
    for (const name of ['', 'synod.kv.v1.KV', 'synod.cluster.v1.Cluster']) {
      const response = await new Promise<{ status: string }>((resolve, reject) => health.check({ service: name }, (e, r) => (e ? reject(e) : resolve(r))));
      expect(response.status).toBe('SERVING');
    }
    health.close();
  });

  it('lists the services by server reflection', async () => {
    const protoDir = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto');
    const definition = protoLoader.loadSync(join(protoDir, 'grpc/reflection/v1/reflection.proto'), { includeDirs: [protoDir], keepCase: true });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      grpc: { reflection: { v1: { ServerReflection: new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client & { ServerReflectionInfo(): grpc.ClientDuplexStream<unknown, { list_services_response?: { service: { name: string }[] } }> } } } };
    };
    const reflection = new loaded.grpc.reflection.v1.ServerReflection(cluster.endpoints[2]!, grpc.credentials.createInsecure());
    const stream = reflection.ServerReflectionInfo();
    const answer = new Promise<string[]>((resolve, reject) => {
      stream.on('data', (message) => resolve((message.list_services_response?.service ?? []).map((entry: { name: string }) => entry.name)));
      stream.on('error', reject);
    });
    stream.write({ list_services: '*' });
    const names = await answer;
    stream.end();
    reflection.close();
    expect(names).toEqual(expect.arrayContaining(['synod.kv.v1.KV', 'synod.cluster.v1.Cluster', 'synod.peer.v1.Peer', 'grpc.health.v1.Health']));
  });
});

describe('Cluster/Status', () => {
  it('reports every member, with one leader', async () => {
    const statuses = await client.status();
    const members = statuses.filter((s): s is Extract<typeof s, { id: string }> => 'id' in s);
    expect(members.map((m) => m.id).sort()).toEqual(['n1', 'n2', 'n3']);
    expect(members.filter((m) => m.role === 'leader')).toHaveLength(1);
    expect(members[0]!.members.map((m) => m.address).sort()).toEqual([...cluster.endpoints].sort());
  });

  it('hashes the replicated state on request: members at the same index agree, and a write changes the hash', async () => {
    await client.put('hash/a', 'one');
    const agreed = async (): Promise<{ hash: string; index: number }> => {
      for (;;) {
        const all = await Promise.all(cluster.endpoints.map((e) => client.memberStatus(e, { includeStateHash: true })));
        const indexes = new Set(all.map((m) => m.stateIndex));
        if (indexes.size === 1) {
          expect(new Set(all.map((m) => m.stateHash)).size).toBe(1);
          return { hash: all[0]!.stateHash!, index: all[0]!.stateIndex! };
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const before = await agreed();
    expect(before.hash).toMatch(/^[0-9a-f]{64}$/);
    await client.put('hash/a', 'two');
    const after = await agreed();
    expect(after.index).toBeGreaterThan(before.index);
    expect(after.hash).not.toBe(before.hash);
    expect((await client.memberStatus(cluster.endpoints[0]!)).stateHash).toBeUndefined();
  });
});

describe('Cluster/TransferLeadership', () => {
  it('the leader hands over to the named member; a follower answers NOT_LEADER', async () => {
    const leader = cluster.leader()!;
    const [target, other] = cluster.servers.filter((s) => s !== leader) as [(typeof cluster.servers)[number], (typeof cluster.servers)[number]];
    await expect(client.transferLeadership(other.boundAddress!, target.nodeId)).rejects.toMatchObject({ reason: 'NOT_LEADER' });
    expect(cluster.servers.map((s) => s.nodeId)).toContain(await client.transferLeadership(leader.boundAddress!, target.nodeId, { timeoutMs: 5_000 }));
    for (const deadline = Date.now() + 5_000; !cluster.servers.every((s) => s.node.status().leader === target.nodeId); ) {
      if (Date.now() > deadline) throw new Error('no hand-over within 5 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
});
