import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { checkOperations, kvModel, operationsFromHistory, type History, type KvInput, type KvOutput, type Verdict } from '@synod/testkit';

/** What one check of a window of the history found. */
export interface WindowResult {
  readonly verdict: Verdict;
  readonly operations: number;
  readonly elapsedMs: number;
}

export interface WindowCheckRequest {
  readonly history: History<KvInput, KvOutput>;
  readonly timeoutMs: number;
}

/** Checks one window with the testkit's linearizability checker and KV model. */
export function checkWindow(request: WindowCheckRequest): WindowResult {
  const operations = operationsFromHistory(request.history);
  const result = checkOperations(kvModel, operations, { timeoutMs: request.timeoutMs });
  return { verdict: result.verdict, operations: operations.length, elapsedMs: Math.round(result.elapsedMs) };
}

/**
 * Runs window checks off the demo's event loop, in a worker thread, so a
 * check of a few thousand operations never stalls the nodes' timers (all
 * nodes share this process). Falls back to checking inline when the
 * compiled worker is not there (running from source, in tests).
 */
export class WindowChecker {
  #worker: Worker | undefined;
  readonly #waiting: ((result: WindowResult) => void)[] = [];

  constructor() {
    const script = fileURLToPath(new URL('./window-check-worker.js', import.meta.url));
    if (!import.meta.url.endsWith('.js') || !existsSync(script)) return;
    this.#worker = new Worker(script);
    this.#worker.unref();
    this.#worker.on('message', (result: WindowResult) => this.#waiting.shift()?.(result));
    this.#worker.on('error', () => {
      // A broken worker must not take the demo down: check inline from now on.
      this.#worker = undefined;
      for (const resolve of this.#waiting.splice(0)) resolve({ verdict: 'unknown', operations: 0, elapsedMs: 0 });
    });
  }

  check(request: WindowCheckRequest): Promise<WindowResult> {
    const worker = this.#worker;
    if (worker === undefined) return Promise.resolve(checkWindow(request));
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      worker.postMessage(request);
    });
  }

  async close(): Promise<void> {
    await this.#worker?.terminate();
    this.#worker = undefined;
  }
}
