import { performance } from 'node:perf_hooks';
import { checkLinearizability, HistoryRecorder, kvModel, type KvInput, type KvOutput } from '@synod/testkit';
import { SynodClient, SynodRpcError } from '@synod/transport-grpc';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ProcessCluster } from './process-cluster.js';

/**
 * A 30 s run (SYNOD_HISTORY_SECONDS to change it) of five clients doing
 * linearizable gets, puts and compare-and-swaps on three keys against three
 * `synod serve` processes; the leader is SIGKILLed a third of the way in and
 * restarted at two thirds. The recorded history must be linearizable.
 */

const seconds = Number(process.env['SYNOD_HISTORY_SECONDS'] ?? 30);
const KEYS = ['x', 'y', 'z'];
const WORKERS = 5;

let cluster: ProcessCluster;

beforeAll(async () => {
  cluster = await ProcessCluster.start({ tickMs: 50, snapshotEntries: 500 });
}, 120_000);

afterAll(async () => {
  await cluster?.destroy();
}, 30_000);

/** Only a refusal before the command was proposed proves it did not happen; reads change nothing either way. */
function classify(input: KvInput) {
  return (error: unknown): 'fail' | 'info' => {
    if (input.f === 'get') return 'fail';
    if (error instanceof SynodRpcError && ['INVALID_ARGUMENT', 'KV_LIMIT_EXCEEDED'].includes(error.reason)) return 'fail';
    return 'info';
  };
}

it(`a ${seconds} s history with a leader kill is linearizable`, async () => {
  const recorder = new HistoryRecorder<KvInput, KvOutput>({ clock: () => performance.now() });
  const control = new SynodClient({ endpoints: cluster.endpoints, security: { insecure: true } });
  await cluster.waitForLeader(control);
  const end = Date.now() + seconds * 1000;
  let seed = 12345;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  let completed = 0;
  let indefinite = 0;

  const worker = async (w: number): Promise<void> => {
    const client = new SynodClient({ endpoints: cluster.endpoints, security: { insecure: true }, timeoutMs: 4_000, attemptTimeoutMs: 1_000 });
    let n = 0;
    try {
      while (Date.now() < end) {
        const key = KEYS[random(KEYS.length)]!;
        const roll = random(10);
        const value = `${w}-${n++}`;
        const input: KvInput =
          roll < 4 ? { f: 'get', key } : roll < 7 ? { f: 'put', key, value } : { f: 'cas', key, expected: random(3) === 0 ? null : `${random(WORKERS)}-${random(Math.max(1, n))}`, value };
        try {
          await recorder.record(
            `c${w}`,
            input,
            async (): Promise<KvOutput> => {
              if (input.f === 'get') return { f: 'get', value: (await client.get(key)).kv?.value ?? null };
              if (input.f === 'put') {
                await client.put(key, input.value);
                return { f: 'put' };
              }
              if (input.f !== 'cas') throw new Error('unreachable');
              const result = await client.compareAndSwap(key, input.expected === null ? { absent: true } : { value: input.expected }, input.value);
              return { f: 'cas', swapped: result.succeeded };
            },
            classify(input),
          );
          completed++;
        } catch {
          indefinite++;
        }
      }
    } finally {
      client.close();
    }
  };

  const chaos = (async () => {
    await new Promise((resolve) => setTimeout(resolve, (seconds * 1000) / 3));
    const leader = await cluster.waitForLeader(control);
    await cluster.stopMember(leader, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, (seconds * 1000) / 3));
    await cluster.startMember(leader);
  })();

  await Promise.all([...Array.from({ length: WORKERS }, (_, w) => worker(w)), chaos]);
  control.close();

  const history = recorder.history();
  const result = checkLinearizability(kvModel, history, { timeoutMs: 120_000 });
  console.info(`history: ${completed} operations completed, ${indefinite} failed or unknown, verdict ${result.verdict}`);
  expect(completed).toBeGreaterThan(100);
  expect(result.verdict).toBe('linearizable');
}, (seconds + 150) * 1000);
