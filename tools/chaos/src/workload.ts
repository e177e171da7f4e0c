import { SeededRandom, type Random } from '@synod/core';
import type { SynodKvClient } from '@synod/protocol';
import { HistoryRecorder, type KvInput, type KvOutput } from '@synod/testkit';
import type { ChaosClientOptions } from './chaos-cluster.js';

/** Options of {@link ChaosWorkload}. */
export interface ChaosWorkloadOptions {
  /** Makes one client of the cluster (over gRPC or NATS): `cluster.client(options)`. */
  readonly newClient: (options: ChaosClientOptions) => SynodKvClient;
  readonly recorder: HistoryRecorder<KvInput, KvOutput>;
  readonly seed: number;
  /** Concurrent clients, each with one operation in flight. @default 4 */
  readonly clients?: number;
  /** Keys the operations pick from. @default 4 */
  readonly keys?: number;
  /** Deadline of one operation, retries included, in ms. @default 4000 */
  readonly operationTimeoutMs?: number;
  /** Pause between a client's operations, in ms. @default 15 */
  readonly thinkMs?: number;
  /** Read with `lease` instead of `linearizable` this share of the time (0–1). @default 0 */
  readonly leaseReadShare?: number;
}

/** What the workload did, by outcome. */
export interface WorkloadCounts {
  ok: number;
  fail: number;
  info: number;
}

/**
 * Concurrent clients doing gets, puts, deletes and compare-and-swaps over a
 * few keys through `SynodClient` or `SynodNatsClient`, each operation recorded in a
 * {@link HistoryRecorder} for the linearizability checker.
 *
 * Values are unique (`c<client>-<n>`), so a read names the write it saw.
 * An error from a read is a `fail` (a read changes nothing), an error from a
 * write is `info`: its session may still apply it later, so its outcome
 * stays unknown and the checker may place it anywhere after its invoke. A
 * client whose write ended unknown goes on under a new history id, as a
 * Jepsen process does after a crash.
 *
 * @example
 * ```ts
 * const workload = new ChaosWorkload({ newClient: (options) => cluster.client(options), recorder, seed: 1 });
 * workload.start();
 * // … faults …
 * await workload.stop();
 * ```
 */
export class ChaosWorkload {
  readonly counts: WorkloadCounts = { ok: 0, fail: 0, info: 0 };
  readonly #options: ChaosWorkloadOptions;
  readonly #random: Random;
  readonly #lastSeen = new Map<string, string | null>();
  #running: Promise<void>[] = [];
  #stopping = false;
  readonly #clients: SynodKvClient[] = [];

  constructor(options: ChaosWorkloadOptions) {
    this.#options = options;
    this.#random = new SeededRandom(options.seed);
  }

  /** The keys operations use. */
  get keys(): string[] {
    return Array.from({ length: this.#options.keys ?? 4 }, (_, i) => `k${i}`);
  }

  start(): void {
    const clients = this.#options.clients ?? 4;
    for (let c = 0; c < clients; c++) {
      const client = this.#options.newClient({
        clientId: `chaos-${process.pid}-${c}`,
        timeoutMs: this.#options.operationTimeoutMs ?? 4_000,
        attemptTimeoutMs: 1_000,
        backoff: { initialMs: 20, maxMs: 300 },
      });
      this.#clients.push(client);
      this.#running.push(this.#loop(c, client, this.#random.fork()));
    }
  }

  /** Lets every operation in flight finish (or time out), then closes the clients. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#running);
    this.#running = [];
    await Promise.all(this.#clients.map((client) => client.close()));
  }

  async #loop(index: number, client: SynodKvClient, random: Random): Promise<void> {
    let generation = 0;
    let n = 0;
    const keys = this.keys;
    while (!this.#stopping) {
      const key = keys[random.int(keys.length)]!;
      const input = this.#nextInput(random, key, `c${index}-${n++}`);
      const history = `c${index}.${generation}`;
      const outcome = await runOperation(this.#options.recorder, history, input, client, {
        lease: random.next() < (this.#options.leaseReadShare ?? 0),
      });
      this.counts[outcome.type]++;
      if (outcome.type === 'info') generation++;
      if (outcome.type === 'ok' && outcome.output.f === 'get') this.#lastSeen.set(key, outcome.output.value);
      await sleep(this.#options.thinkMs ?? 15);
    }
  }

  #nextInput(random: Random, key: string, value: string): KvInput {
    const roll = random.next();
    if (roll < 0.4) return { f: 'get', key };
    if (roll < 0.65) return { f: 'put', key, value };
    if (roll < 0.8) return { f: 'delete', key };
    // Expect what some client last read, so a good share of swaps succeed.
    const expected = this.#lastSeen.get(key) ?? null;
    return { f: 'cas', key, expected: random.next() < 0.2 ? null : expected, value };
  }
}

type Outcome = { readonly type: 'ok'; readonly output: KvOutput } | { readonly type: 'fail' | 'info' };

/**
 * Runs one operation through `client`, recorded under history id `client`.
 * Exported for the final reads, which are recorded the same way.
 */
export async function runOperation(
  recorder: HistoryRecorder<KvInput, KvOutput>,
  historyClient: string,
  input: KvInput,
  client: SynodKvClient,
  options: { readonly lease?: boolean; readonly timeoutMs?: number } = {},
): Promise<Outcome> {
  const call = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
  try {
    const output = await recorder.record(
      historyClient,
      input,
      async (): Promise<KvOutput> => {
        switch (input.f) {
          case 'get': {
            const { kv } = await client.get(input.key, { ...call, consistency: options.lease === true ? 'lease' : 'linearizable' });
            return { f: 'get', value: kv?.value ?? null };
          }
          case 'put':
            await client.put(input.key, input.value, call);
            return { f: 'put' };
          case 'delete': {
            const { deleted } = await client.delete(input.key, call);
            return { f: 'delete', existed: deleted };
          }
          case 'cas': {
            const expected = input.expected === null ? ({ absent: true } as const) : { value: input.expected };
            const { succeeded } = await client.compareAndSwap(input.key, expected, input.value, call);
            return { f: 'cas', swapped: succeeded };
          }
          default:
            throw new Error(`the chaos workload does not issue '${input.f}'`);
        }
      },
      () => (input.f === 'get' ? 'fail' : 'info'),
    );
    return { type: 'ok', output };
  } catch {
    return { type: input.f === 'get' ? 'fail' : 'info' };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
