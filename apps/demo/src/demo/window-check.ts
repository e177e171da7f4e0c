import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  checkOperations,
  kvModel,
  operationsFromHistory,
  renderHtmlReport,
  type History,
  type KvInput,
  type KvOutput,
  type Verdict,
} from '@synod/testkit';

/** What one check of a window of the history found. */
export interface WindowResult {
  readonly verdict: Verdict;
  readonly operations: number;
  readonly elapsedMs: number;
}

/** A job for the checker: a verdict on a window, or the HTML report of a whole history. */
export type CheckJob =
  | { readonly kind: 'window'; readonly history: History<KvInput, KvOutput>; readonly timeoutMs: number }
  | { readonly kind: 'report'; readonly history: History<KvInput, KvOutput>; readonly timeoutMs: number; readonly title: string };

type JobAnswer = WindowResult | string;

/** Histories above this many operations get a report of their failing keys only (all keys would be megabytes). */
const FULL_REPORT_MAX_OPERATIONS = 5000;

/** Runs one job with the testkit's linearizability checker and KV model. */
export function runCheckJob(job: CheckJob): JobAnswer {
  const operations = operationsFromHistory(job.history);
  const result = checkOperations(kvModel, operations, { timeoutMs: job.timeoutMs });
  if (job.kind === 'window') return { verdict: result.verdict, operations: operations.length, elapsedMs: Math.round(result.elapsedMs) };
  return renderHtmlReport(kvModel, result, {
    title: `${job.title} (${result.verdict}, ${operations.length} operations)`,
    partitions: operations.length > FULL_REPORT_MAX_OPERATIONS ? 'not-linearizable' : 'all',
  });
}

/**
 * Runs checks off the demo's event loop, in a worker thread, so checking a
 * few thousand operations never stalls the nodes' timers (all nodes share
 * this process). Falls back to checking inline when the compiled worker is
 * not there (running from source, in tests).
 */
export class WindowChecker {
  #worker: Worker | undefined;
  /** Answers come back in the order the jobs were posted. */
  readonly #waiting: ((answer: JobAnswer) => void)[] = [];

  constructor() {
    const script = fileURLToPath(new URL('./window-check-worker.js', import.meta.url));
    if (!import.meta.url.endsWith('.js') || !existsSync(script)) return;
    // Compiled code only: none of the parent's flags (a test runner's source
    // export conditions would point the worker's imports at .ts files).
    this.#worker = new Worker(script, { execArgv: [] });
    this.#worker.unref();
    this.#worker.on('message', (answer: JobAnswer) => this.#waiting.shift()?.(answer));
    this.#worker.on('error', () => {
      // A broken worker must not take the demo down: check inline from now on.
      this.#worker = undefined;
      for (const resolve of this.#waiting.splice(0)) resolve({ verdict: 'unknown', operations: 0, elapsedMs: 0 });
    });
  }

  #run(job: CheckJob): Promise<JobAnswer> {
    const worker = this.#worker;
    if (worker === undefined) return Promise.resolve(runCheckJob(job));
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      worker.postMessage(job);
    });
  }

  async check(history: History<KvInput, KvOutput>, timeoutMs: number): Promise<WindowResult> {
    const answer = await this.#run({ kind: 'window', history, timeoutMs });
    return typeof answer === 'string' ? { verdict: 'unknown', operations: 0, elapsedMs: 0 } : answer;
  }

  async report(history: History<KvInput, KvOutput>, timeoutMs: number, title: string): Promise<string> {
    const answer = await this.#run({ kind: 'report', history, timeoutMs, title });
    return typeof answer === 'string' ? answer : `<!doctype html><p>the checker could not render the report (${answer.verdict})</p>`;
  }

  async close(): Promise<void> {
    await this.#worker?.terminate();
    this.#worker = undefined;
  }
}
