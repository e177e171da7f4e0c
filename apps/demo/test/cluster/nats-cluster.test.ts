import { performance } from 'node:perf_hooks';
import { checkLinearizability, HistoryRecorder, kvModel, type KvInput, type KvOutput } from '@synod/testkit';
import { SynodRpcError, type SynodNatsClient } from '@synod/transport-nats';
import { NatsServer } from '@synod/transport-nats/nats-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessCluster } from './process-cluster.js';
import { highestCompaction } from './log-records.js';

/**
 * Three `synod serve --transport nats` processes with FileStorage (fsync on)
 * talking through a nats-server of this file's own (free port, own config).
 * Clients use SynodNatsClient (request/reply, queue group).
 */

const SNAPSHOT_ENTRIES = 60;
let broker: NatsServer;
let cluster: ProcessCluster;
let client: SynodNatsClient;

beforeAll(async () => {
  broker = await NatsServer.start();
  cluster = await ProcessCluster.start({ tickMs: 50, snapshotEntries: SNAPSHOT_ENTRIES, natsUrl: broker.url });
  client = cluster.natsClient();
}, 120_000);

afterAll(async () => {
  await client?.close();
  await cluster?.destroy();
  await broker?.dispose();
}, 30_000);

async function writeKeys(prefix: string, count: number, concurrency = 8): Promise<Map<string, string>> {
  const acked = new Map<string, string>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const key = `${prefix}${next++}`;
        await client.put(key, `v-${key}`);
        acked.set(key, `v-${key}`);
      }
    }),
  );
  return acked;
}

/** Only a refusal before the command was proposed proves it did not happen; reads change nothing either way. */
function classify(input: KvInput) {
  return (error: unknown): 'fail' | 'info' => {
    if (input.f === 'get') return 'fail';
    if (error instanceof SynodRpcError && ['INVALID_ARGUMENT', 'KV_LIMIT_EXCEEDED'].includes(error.reason)) return 'fail';
    return 'info';
  };
}

describe('three serve processes over NATS', () => {
  it('serve writes and linearizable reads; a SIGKILLed leader is replaced and loses nothing acknowledged; it restarts and catches up through a snapshot', async () => {
    const firstLeader = await cluster.waitForLeader(client);
    const acked = await writeKeys('before/', 30);
    for (const [key, value] of acked) expect((await client.get(key)).kv?.value).toBe(value);

    const lastIndexAtKill = (await client.memberStatus(firstLeader)).lastIndex;
    await cluster.stopMember(firstLeader, 'SIGKILL');
    const killedAt = Date.now();
    await client.put('after-kill', 'first');
    const failoverMs = Date.now() - killedAt;
    expect(failoverMs).toBeLessThan(40 * 10 * cluster.tickMs);
    console.info(`nats failover: first write acknowledged ${failoverMs} ms after SIGKILL of the leader ${firstLeader}`);

    acked.set('after-kill', 'first');
    const newLeader = await cluster.waitForLeader(client);
    expect(newLeader).not.toBe(firstLeader);
    // Enough writes that the survivors snapshot and compact past the killed node's log. The server folds
    // concurrent writes into shared entries, so how many writes that takes varies: write in rounds until it happens.
    for (let round = 0; round < 20 && highestCompaction(cluster.output(newLeader)) <= lastIndexAtKill; round++) {
      for (const [key, value] of await writeKeys(`during/${round}/`, 3 * SNAPSHOT_ENTRIES)) acked.set(key, value);
    }
    expect(highestCompaction(cluster.output(newLeader))).toBeGreaterThan(lastIndexAtKill);
    for (const [key, value] of acked) expect((await client.get(key)).kv?.value, key).toBe(value);

    await cluster.startMember(firstLeader);
    const target = (await client.memberStatus(newLeader)).commitIndex;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const restarted = await client.memberStatus(firstLeader).catch(() => undefined);
      if (restarted !== undefined && restarted.appliedIndex >= target) {
        expect(restarted.role).toBe('follower');
        break;
      }
      if (Date.now() > deadline) throw new Error(`the restarted node did not catch up: ${JSON.stringify(restarted)}, target ${target}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await client.put('after-restart', 'ok');
    expect((await client.get('after-restart')).kv?.value).toBe('ok');
  }, 240_000);

  it('the broker is SIGKILLed and restarted mid-workload: no acknowledged write is lost, the history is linearizable, progress resumes within seconds', async () => {
    await cluster.waitForLeader(client);
    const recorder = new HistoryRecorder<KvInput, KvOutput>({ clock: () => performance.now() });
    const seconds = 12;
    const end = Date.now() + seconds * 1000;
    const acked = new Map<string, string>();
    let brokerBackAt: number | undefined;
    let firstAckAfterReturn: number | undefined;
    let seed = 4242;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let completed = 0;

    const worker = async (w: number): Promise<void> => {
      const own = cluster.natsClient({ timeoutMs: 4_000, attemptTimeoutMs: 1_000 });
      let n = 0;
      try {
        while (Date.now() < end) {
          const roll = random(10);
          const value = `${w}-${n++}`;
          const input: KvInput =
            roll < 3
              ? { f: 'put', key: `own/${value}`, value }
              : roll < 6
                ? { f: 'get', key: ['x', 'y'][random(2)]! }
                : roll < 8
                  ? { f: 'put', key: ['x', 'y'][random(2)]!, value }
                  : { f: 'cas', key: 'x', expected: random(2) === 0 ? null : `${random(5)}-${random(Math.max(1, n))}`, value };
          try {
            await recorder.record(
              `c${w}`,
              input,
              async (): Promise<KvOutput> => {
                if (input.f === 'get') return { f: 'get', value: (await own.get(input.key)).kv?.value ?? null };
                if (input.f === 'put') {
                  await own.put(input.key, input.value);
                  if (input.key.startsWith('own/')) acked.set(input.key, input.value);
                  return { f: 'put' };
                }
                if (input.f !== 'cas') throw new Error('unreachable');
                const result = await own.compareAndSwap(input.key, input.expected === null ? { absent: true } : { value: input.expected }, input.value);
                return { f: 'cas', swapped: result.succeeded };
              },
              classify(input),
            );
            completed++;
            if (brokerBackAt !== undefined && firstAckAfterReturn === undefined) firstAckAfterReturn = Date.now() - brokerBackAt;
          } catch {
            // failed or unknown: recorded as such
          }
        }
      } finally {
        await own.close();
      }
    };

    const chaos = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 3_500));
      await broker.stop('SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await broker.start();
      brokerBackAt = Date.now();
    })();

    await Promise.all([...Array.from({ length: 4 }, (_, w) => worker(w)), chaos]);
    expect(firstAckAfterReturn, 'an operation completed after the broker came back').toBeDefined();
    console.info(`nats broker restart: ${completed} operations, first acknowledged ${firstAckAfterReturn} ms after the broker's return; ${acked.size} unique writes acknowledged`);
    // Progress resumes within a few seconds of the broker's return.
    expect(firstAckAfterReturn!).toBeLessThan(5_000);
    expect(acked.size).toBeGreaterThan(20);
    for (const [key, value] of acked) expect((await client.get(key)).kv?.value, key).toBe(value);
    const result = checkLinearizability(kvModel, recorder.history(), { timeoutMs: 60_000 });
    expect(result.verdict).toBe('linearizable');
  }, 120_000);
});
