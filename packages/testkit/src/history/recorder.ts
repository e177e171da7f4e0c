import { InvalidHistoryError } from './errors.js';
import { serializeHistoryJsonl, type HistoryCodec } from './jsonl.js';
import type { ClientId, CompletionType, History, HistoryEvent } from './types.js';

/**
 * Decides what a thrown error says about an operation's outcome: `fail` only
 * when the operation definitely did not take effect, `info` otherwise.
 */
export type ErrorClassifier = (error: unknown) => 'fail' | 'info';

/** Options for {@link HistoryRecorder}. */
export interface HistoryRecorderOptions {
  /**
   * Where timestamps come from: a virtual clock in simulation, a monotonic
   * clock otherwise. It must never go backwards.
   */
  readonly clock: () => number;
  /**
   * How {@link HistoryRecorder.record} classifies a rejected operation.
   * @default every error is `info`: an error proves nothing about whether the
   * command was applied, and calling it `fail` could hide a real anomaly.
   */
  readonly classifyError?: ErrorClassifier;
}

interface PendingOperation {
  readonly client: ClientId;
}

/**
 * Records a client history while a test runs. Each operation is an invoke and
 * at most one completion; an operation that never completes stays open to the
 * end of the history, which the checker reads as "may have happened, at any
 * time after its invoke".
 *
 * The recorder keeps events in the order it is told about them. That order is
 * the real-time order the checker relies on, so call `invoke` just before the
 * request leaves the client and `ok`/`fail`/`info` just after the answer
 * arrives.
 *
 * @example
 * ```ts
 * const recorder = new HistoryRecorder<KvInput, KvOutput>({ clock: () => clock.now() });
 * const op = recorder.invoke('client-1', { f: 'put', key: 'a', value: '1' });
 * // ... later, when the reply arrives:
 * recorder.ok(op, { f: 'put' });
 * // or, on a timeout: recorder.info(op, 'timeout');
 * const result = checkLinearizability(kvModel, recorder.history());
 * ```
 */
export class HistoryRecorder<I, O> {
  readonly #clock: () => number;
  readonly #classify: ErrorClassifier;
  readonly #events: HistoryEvent<I, O>[] = [];
  readonly #pending = new Map<number, PendingOperation>();
  #nextId = 0;
  #lastTime = Number.NEGATIVE_INFINITY;

  constructor(options: HistoryRecorderOptions) {
    this.#clock = options.clock;
    this.#classify = options.classifyError ?? (() => 'info');
  }

  /**
   * Records that `client` starts an operation.
   * @returns the operation's id, to pass to {@link ok}, {@link fail} or {@link info}.
   */
  invoke(client: ClientId, input: I): number {
    const id = this.#nextId++;
    this.#events.push({ type: 'invoke', id, client, time: this.#now(), input });
    this.#pending.set(id, { client });
    return id;
  }

  /** Records that operation `id` took effect and returned `output`. */
  ok(id: number, output: O): void {
    const { client } = this.#complete(id, 'ok');
    this.#events.push({ type: 'ok', id, client, time: this.#now(), output });
  }

  /** Records that operation `id` definitely did not take effect. The checker will remove it. */
  fail(id: number, error?: string): void {
    this.#completeWithoutOutput(id, 'fail', error);
  }

  /** Records that the outcome of operation `id` is unknown. It stays open until the end of the history. */
  info(id: number, error?: string): void {
    this.#completeWithoutOutput(id, 'info', error);
  }

  /**
   * Runs `run` as one operation of `client`: invoke before, `ok` with its
   * result, or `fail`/`info` (per the classifier) if it throws. The error is
   * rethrown.
   *
   * @example
   * ```ts
   * const value = await recorder.record('c1', { f: 'get', key: 'a' }, async () => {
   *   const v = await client.get('a');
   *   return { f: 'get', value: v ?? null };
   * });
   * ```
   */
  async record(client: ClientId, input: I, run: () => Promise<O>, classifyError?: ErrorClassifier): Promise<O> {
    const id = this.invoke(client, input);
    let output: O;
    try {
      output = await run();
    } catch (error) {
      const kind = (classifyError ?? this.#classify)(error);
      const message = error instanceof Error ? error.message : String(error);
      if (kind === 'fail') this.fail(id, message);
      else this.info(id, message);
      throw error;
    }
    this.ok(id, output);
    return output;
  }

  /** Ids of operations invoked and not yet completed. */
  openOperations(): number[] {
    return [...this.#pending.keys()];
  }

  /** A snapshot of the history so far. Open operations stay open in it. */
  history(): History<I, O> {
    return [...this.#events];
  }

  /**
   * The history as JSON lines (see {@link serializeHistoryJsonl}).
   * @param model - recorded in the header line so a reader can pick the model.
   */
  toJsonl(codec?: HistoryCodec<I, O>, model?: string): string {
    return serializeHistoryJsonl(this.#events, { codec, model });
  }

  #completeWithoutOutput(id: number, type: 'fail' | 'info', error: string | undefined): void {
    const { client } = this.#complete(id, type);
    const time = this.#now();
    this.#events.push(error === undefined ? { type, id, client, time } : { type, id, client, time, error });
  }

  #complete(id: number, type: CompletionType): PendingOperation {
    const pending = this.#pending.get(id);
    if (pending === undefined) {
      throw new InvalidHistoryError(
        id < this.#nextId && id >= 0
          ? `operation ${id} is already complete; cannot record ${type}`
          : `operation ${id} was never invoked; cannot record ${type}`,
      );
    }
    this.#pending.delete(id);
    return pending;
  }

  #now(): number {
    const time = this.#clock();
    if (!Number.isFinite(time)) throw new InvalidHistoryError(`clock returned ${time}`);
    // A clock that goes backwards would make timestamps contradict the event
    // order; fail loudly at the source rather than produce a confusing report.
    if (time < this.#lastTime) {
      throw new InvalidHistoryError(`clock went backwards: ${time} after ${this.#lastTime}`);
    }
    this.#lastTime = time;
    return time;
  }
}
