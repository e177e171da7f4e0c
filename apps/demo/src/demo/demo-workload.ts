import type { Clock, Random } from '@synod/core';
import { HistoryRecorder, type History, type KvInput, type KvOutput } from '@synod/testkit';
import type { VerdictFrame, WorkloadFrame } from './dashboard-types.js';
import { WindowChecker } from './window-check.js';

/**
 * Keys change every epoch (`e3-k1` is key 1 of epoch 3), so the operations
 * of recent epochs touch only keys that started absent: checking them alone
 * is exact, not an approximation, and the check stays small however long
 * the demo runs.
 */
export const EPOCH_MS = 5000;
const KEYS_PER_EPOCH = 5;
/** Epochs in the window that the verdict covers: the current one and the two before. */
const WINDOW_EPOCHS = 3;
const OPERATION_TIMEOUT_MS = 1000;

/**
 * Where the workload sends its operations: a node of the in-process cluster,
 * or a client of real processes. Each call fails (rejects) when it cannot
 * tell the outcome in `timeoutMs`.
 */
export interface WorkloadTarget {
  put(key: string, value: string, timeoutMs: number): Promise<void>;
  /** The key's value, or null when absent, read linearizably. */
  get(key: string, timeoutMs: number): Promise<string | null>;
}

export interface WorkloadOptions {
  readonly clock: Clock;
  readonly random: Random;
  /** Where to send the next operation (the leader, or a client), or undefined while there is no leader. */
  readonly target: () => WorkloadTarget | undefined;
  /** ms since the demo started, for the verdict's timestamps */
  readonly elapsed: () => number;
  /** @default 4 */
  readonly clients?: number;
}

interface Completion {
  readonly at: number;
  readonly latencyMs: number;
}

/**
 * Clients that put and read keys through the cluster, one operation in
 * flight each, recording every operation for the linearizability checker.
 * In process, writes go through the leader's `propose` and reads through
 * its linearizable read; with real processes, through a Synod client.
 */
export class DemoWorkload {
  readonly #options: WorkloadOptions;
  readonly #recorder: HistoryRecorder<KvInput, KvOutput>;
  /** History length when each epoch began, so a window is a suffix of the history. */
  readonly #epochStarts = new Map<number, number>();
  readonly #recent: Completion[] = [];
  #running = false;
  #generation = 0;
  #sequence = 0;
  #ok = 0;
  #notOk = 0;
  readonly #checker = new WindowChecker();
  #checking: Promise<VerdictFrame> | undefined;
  #verdict: VerdictFrame = { verdict: 'pending', operations: 0, windowS: 0, checkedAtMs: 0, elapsedMs: 0 };

  constructor(options: WorkloadOptions) {
    this.#options = options;
    this.#recorder = new HistoryRecorder({ clock: () => options.clock.now() });
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    const generation = ++this.#generation;
    for (let c = 0; c < (this.#options.clients ?? 4); c++) void this.#clientLoop(`c${c}`, generation);
  }

  /** Clients finish the operation in flight and stop. */
  stop(): void {
    this.#running = false;
  }

  async #clientLoop(client: string, generation: number): Promise<void> {
    const { clock, random } = this.#options;
    while (this.#running && this.#generation === generation) {
      const target = this.#options.target();
      if (target === undefined) {
        await this.#sleep(50); // no leader known: an operation now could only fail
        continue;
      }
      const epoch = Math.floor(clock.now() / EPOCH_MS);
      if (!this.#epochStarts.has(epoch)) this.#epochStarts.set(epoch, this.#recorder.history().length);
      const key = `e${epoch}-k${random.int(KEYS_PER_EPOCH)}`;
      const started = clock.now();
      try {
        if (random.int(3) === 0) {
          await this.#recorder.record(client, { f: 'get', key }, async () => ({ f: 'get', value: await target.get(key, OPERATION_TIMEOUT_MS) }));
        } else {
          const value = `${client}-${++this.#sequence}`;
          await this.#recorder.record(client, { f: 'put', key, value }, async () => {
            await target.put(key, value, OPERATION_TIMEOUT_MS);
            return { f: 'put' };
          });
        }
        this.#ok++;
        this.#recent.push({ at: clock.now(), latencyMs: clock.now() - started });
      } catch {
        // Recorded as `info` (outcome unknown): the checker allows for both.
        this.#notOk++;
        await this.#sleep(50);
      }
      await this.#sleep(5);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#options.clock.setTimeout(resolve, ms));
  }

  /** Throughput and latency of the last second. */
  frame(): WorkloadFrame {
    const now = this.#options.clock.now();
    let first = 0;
    while (first < this.#recent.length && this.#recent[first]!.at <= now - 1000) first++;
    if (first > 0) this.#recent.splice(0, first);
    const latencies = this.#recent.map((c) => c.latencyMs).sort((a, b) => a - b);
    return {
      running: this.#running,
      opsPerSecond: latencies.length,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      ok: this.#ok,
      notOk: this.#notOk,
    };
  }

  /** The last verdict computed by {@link checkRecentWindow}. */
  verdict(): VerdictFrame {
    return this.#verdict;
  }

  /**
   * Checks the operations of the last few epochs with the testkit's
   * linearizability checker, in a worker thread when available (see
   * WindowChecker) and within a time budget: an undecided check says
   * `unknown`. A call while a check is running returns that check's verdict.
   */
  async checkRecentWindow(timeoutMs = 2000): Promise<VerdictFrame> {
    if (this.#checking !== undefined) return this.#checking;
    const epoch = Math.floor(this.#options.clock.now() / EPOCH_MS);
    const starts = [...this.#epochStarts].filter(([e]) => e > epoch - WINDOW_EPOCHS).map(([, start]) => start);
    for (const old of this.#epochStarts.keys()) if (old <= epoch - WINDOW_EPOCHS) this.#epochStarts.delete(old);
    const history = starts.length === 0 ? [] : windowFrom(this.#recorder.history(), Math.min(...starts));
    const checkedAtMs = this.#options.elapsed();
    this.#checking = this.#checker.check(history, timeoutMs).then((result) => {
      this.#checking = undefined;
      this.#verdict = {
        verdict: result.operations === 0 ? 'pending' : result.verdict,
        operations: result.operations,
        windowS: (WINDOW_EPOCHS * EPOCH_MS) / 1000,
        checkedAtMs,
        elapsedMs: result.elapsedMs,
      };
      return this.#verdict;
    });
    return this.#checking;
  }

  /** Stops the clients and the checker's worker. */
  async close(): Promise<void> {
    this.stop();
    await this.#checker.close();
  }

  /** The whole run checked (in the worker, when there is one) and rendered as the testkit's HTML report. */
  htmlReport(timeoutMs = 10_000): Promise<string> {
    return this.#checker.report(this.#recorder.history(), timeoutMs, 'synod demo: the whole run');
  }
}

/**
 * The events from `start` on, without completions of operations invoked
 * before it (those belong to older epochs, whose keys the window never touches).
 */
function windowFrom(history: History<KvInput, KvOutput>, start: number): History<KvInput, KvOutput> {
  const invoked = new Set<number>();
  const events = [];
  for (let i = start; i < history.length; i++) {
    const event = history[i]!;
    if (event.type === 'invoke') invoked.add(event.id);
    else if (!invoked.has(event.id)) continue;
    events.push(event);
  }
  return events;
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 10) / 10;
}
