import { operationsFromHistory } from '../history/operations.js';
import type { History, Operation } from '../history/types.js';
import { Bitset } from './bitset.js';
import { LinearizationCache } from './cache.js';
import { UNKNOWN_OUTPUT, type Model, type Partition, type UnknownOutput } from './model.js';

/** The answer for a history or one of its partitions. */
export type Verdict = 'linearizable' | 'not-linearizable' | 'unknown';

/** An operation that could have been linearized next after the longest prefix, and what happened when it was tried. */
export interface FailureCandidate {
  readonly opId: number;
  /**
   * `rejected`: the model refused it in the state after the prefix (for
   * example, a read of a value the register did not hold). `dead-end`: the
   * model accepted it, but every continuation from there failed.
   */
  readonly reason: 'rejected' | 'dead-end';
}

/** Where and why linearization became impossible. */
export interface LinearizationFailure {
  /**
   * The operation that had to take effect before its completion, after the
   * longest linearizable prefix, but could not: every way to fit it (and the
   * operations concurrent with it) in failed.
   */
  readonly opId: number;
  /** The operations that could come next after the longest prefix; none led to a full linearization. */
  readonly candidates: readonly FailureCandidate[];
  /** The model state after the longest prefix, described by the model. */
  readonly stateAfterPrefix: string;
}

/** The result for one partition (one key, for the KV model). */
export interface PartitionResult<I, O> {
  readonly key: string;
  readonly verdict: Verdict;
  /** The operations checked, in invoke order. `fail` operations are not among them: they did not happen. */
  readonly operations: readonly Operation<I, O>[];
  /** How many `fail` operations were removed before checking. */
  readonly removed: number;
  /**
   * Operation ids, in linearization order, of the longest prefix the search
   * managed to linearize. For a linearizable partition this is a complete
   * linearization (a witness).
   */
  readonly longestPrefix: readonly number[];
  /** Present when the verdict is `not-linearizable`. */
  readonly failure?: LinearizationFailure;
  /** Why the verdict is `unknown`: the time budget, the memory budget, or another partition already failed. */
  readonly undecided?: UndecidedReason;
  /** Distinct (linearized set, state) configurations explored. */
  readonly explored: number;
  /** Time spent searching this partition. */
  readonly elapsedMs: number;
}

/** Why a partition was left `unknown`. */
export type UndecidedReason = 'timeout' | 'too-many-configurations' | 'stopped-after-failure';

/** The result for a whole history. */
export interface CheckResult<I, O> {
  /**
   * `not-linearizable` if any partition is; otherwise `unknown` if any
   * partition ran out of time; otherwise `linearizable`.
   */
  readonly verdict: Verdict;
  /** The model's name. */
  readonly model: string;
  readonly partitions: readonly PartitionResult<I, O>[];
  readonly elapsedMs: number;
}

/** Options for {@link checkLinearizability}. */
export interface CheckOptions {
  /**
   * Time budget for the whole check, in milliseconds. When it runs out the
   * partitions not yet decided get `unknown`.
   * @default no limit
   */
  readonly timeoutMs?: number;
  /**
   * Where time comes from. The checker is tooling, not a protocol core, so
   * the default is `performance.now`; tests inject a fake one.
   */
  readonly now?: () => number;
  /**
   * Keep checking the other partitions after one is found not linearizable.
   * Off by default: the verdict is already known, and the remaining
   * partitions may be expensive (they are reported as `unknown`, with
   * `undecided: 'stopped-after-failure'`).
   * @default false
   */
  readonly checkAllPartitions?: boolean;
  /**
   * Memory budget: the most configurations one partition may memoize before
   * it is given up as `unknown` (`undecided: 'too-many-configurations'`).
   * Each costs a few dozen bytes plus its model state.
   * @default 4_000_000
   */
  readonly maxConfigurations?: number;
}

/**
 * Checks whether a history is linearizable with respect to `model`.
 *
 * `fail` operations are removed (they did not happen). `info` and open
 * operations are kept and may take effect anywhere after their invoke,
 * including after everything else. If the model can partition the history,
 * each partition is checked on its own.
 *
 * The search is the Wing–Gong algorithm with Lowe's memoization: walk the
 * history in real-time order, tentatively linearize an operation whose invoke
 * has been seen, and backtrack when an operation's completion is reached
 * before it could be linearized; a (linearized set, state) pair already
 * explored is never explored again.
 *
 * @example
 * ```ts
 * const result = checkLinearizability(kvModel, recorder.history(), { timeoutMs: 10_000 });
 * if (result.verdict === 'not-linearizable') {
 *   await writeFile('report.html', renderHtmlReport(kvModel, result));
 * }
 * ```
 */
export function checkLinearizability<S, I, O>(
  model: Model<S, I, O>,
  history: History<I, O>,
  options: CheckOptions = {},
): CheckResult<I, O> {
  return checkOperations(model, operationsFromHistory(history), options);
}

/**
 * Like {@link checkLinearizability}, for operations already paired (see
 * `operationsFromHistory`). Real-time order comes from `invokeIndex` and
 * `completeIndex`.
 *
 * @example
 * ```ts
 * const result = checkOperations(registerModel, operationsFromHistory(history));
 * ```
 */
export function checkOperations<S, I, O>(
  model: Model<S, I, O>,
  operations: readonly Operation<I, O>[],
  options: CheckOptions = {},
): CheckResult<I, O> {
  const now = options.now ?? (() => performance.now());
  const start = now();
  const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : start + options.timeoutMs;
  const maxConfigurations = options.maxConfigurations ?? 4_000_000;
  const partitions: Partition<I, O>[] = model.partition ? model.partition(operations) : [{ key: '', operations }];
  const searches = partitions.map((p) => new PartitionSearch(model, p, maxConfigurations));

  // Partitions are searched round-robin in slices that double each round. A
  // history is not linearizable as soon as one partition is not, and some
  // partitions are far harder than others, so a cheap failure should not
  // wait behind an expensive search (Porcupine gets the same effect by
  // searching partitions in parallel and stopping at the first failure).
  let pending = searches.filter((s) => s.verdict === undefined);
  let slice = 2048;
  let stopped = false;
  while (pending.length > 0 && !stopped) {
    for (const search of pending) {
      if (now() > deadline) {
        stopped = true;
        break;
      }
      const began = now();
      search.run(slice, now, deadline);
      search.elapsedMs += now() - began;
      if (search.verdict === 'not-linearizable' && options.checkAllPartitions !== true) {
        stopped = true;
        break;
      }
    }
    pending = pending.filter((s) => s.verdict === undefined);
    slice *= 2;
  }
  const failed = searches.some((s) => s.verdict === 'not-linearizable');
  const results = searches.map((s) => s.result(failed && options.checkAllPartitions !== true ? 'stopped-after-failure' : 'timeout'));
  const verdict: Verdict = failed ? 'not-linearizable' : results.some((r) => r.verdict === 'unknown') ? 'unknown' : 'linearizable';
  return { verdict, model: model.name, partitions: results, elapsedMs: now() - start };
}

/** The entries of the search list: an operation's call and its return, in real-time order. */
interface EntryTable {
  /** Entry index -> operation index. */
  readonly op: Int32Array;
  /** Entry index -> 1 for a call, 0 for a return. */
  readonly isCall: Uint8Array;
  /** Operation index -> its call entry. */
  readonly callOf: Int32Array;
  /** Operation index -> its return entry. */
  readonly returnOf: Int32Array;
}

function buildEntries<I, O>(ops: readonly Operation<I, O>[]): EntryTable {
  const n = ops.length;
  const order: { pos: number; op: number; call: boolean }[] = [];
  ops.forEach((op, i) => {
    order.push({ pos: op.invokeIndex, op: i, call: true });
    // An unknown outcome may take effect at any time after the invoke, so its
    // "return" is at the end of time.
    const open = op.status !== 'ok' || op.completeIndex === undefined;
    order.push({ pos: open ? Number.POSITIVE_INFINITY : (op.completeIndex ?? 0), op: i, call: false });
  });
  // Positions are distinct event indexes except for the open returns, which
  // tie at infinity; order those by operation, after every call.
  order.sort((a, b) => (a.pos === b.pos ? a.op - b.op : a.pos < b.pos ? -1 : 1));
  const table: EntryTable = {
    op: new Int32Array(2 * n),
    isCall: new Uint8Array(2 * n),
    callOf: new Int32Array(n),
    returnOf: new Int32Array(n),
  };
  order.forEach((e, idx) => {
    table.op[idx] = e.op;
    table.isCall[idx] = e.call ? 1 : 0;
    if (e.call) table.callOf[e.op] = idx;
    else table.returnOf[e.op] = idx;
  });
  return table;
}

/**
 * The Wing–Gong search over one partition, with Lowe's memoization. It can
 * stop after a number of iterations and resume later, which lets the
 * scheduler interleave partitions.
 */
class PartitionSearch<S, I, O> {
  readonly #model: Model<S, I, O>;
  readonly #key: string;
  readonly #ops: readonly Operation<I, O>[];
  readonly #removed: number;
  readonly #inputs: readonly I[];
  readonly #outputs: readonly (O | UnknownOutput)[];
  readonly #entries: EntryTable;
  readonly #maxConfigurations: number;
  /** Index of the list's head sentinel (2n). */
  readonly #head: number;
  readonly #next: Int32Array;
  readonly #prev: Int32Array;
  readonly #linearized: Bitset;
  readonly #cache: LinearizationCache<S>;
  readonly #stackOp: Int32Array;
  readonly #stackState: S[];
  #depth = 0;
  #state: S;
  #entry: number;
  /**
   * The longest prefix seen so far, as operation indexes. Stack slots below
   * `lowWater` have not changed since it was recorded, so a new record
   * copies only the slots above, which keeps the bookkeeping linear in the
   * work done.
   */
  readonly #best: number[] = [];
  #lowWater = 0;
  verdict: Verdict | undefined;
  #undecided: UndecidedReason | undefined;
  elapsedMs = 0;

  constructor(model: Model<S, I, O>, partition: Partition<I, O>, maxConfigurations: number) {
    this.#model = model;
    this.#key = partition.key;
    this.#maxConfigurations = maxConfigurations;
    const ops = partition.operations.filter((op) => op.status !== 'fail');
    this.#ops = ops;
    this.#removed = partition.operations.length - ops.length;
    this.#inputs = ops.map((op) => op.input);
    this.#outputs = ops.map((op) => (op.status === 'ok' ? (op.output as O) : UNKNOWN_OUTPUT));
    this.#entries = buildEntries(ops);

    // A doubly linked list over the entries with a head sentinel at index 2n.
    // Linearizing an operation unlinks its call and return; backtracking
    // links them back (Knuth's dancing links), so both are O(1).
    const n = ops.length;
    this.#head = 2 * n;
    this.#next = new Int32Array(2 * n + 1);
    this.#prev = new Int32Array(2 * n + 1);
    for (let e = 0; e < 2 * n; e++) {
      this.#next[e] = e + 1 < 2 * n ? e + 1 : -1;
      this.#prev[e] = e === 0 ? this.#head : e - 1;
    }
    this.#next[this.#head] = n > 0 ? 0 : -1;
    this.#prev[this.#head] = -1;

    this.#linearized = new Bitset(n);
    this.#cache = new LinearizationCache<S>(this.#linearized.words.length, model.equal);
    this.#stackOp = new Int32Array(n);
    this.#stackState = new Array<S>(n);
    this.#state = model.init();
    this.#entry = this.#next[this.#head] as number;
    if (n === 0) this.verdict = 'linearizable';
  }

  #unlink(e: number): void {
    const p = this.#prev[e] as number;
    const q = this.#next[e] as number;
    this.#next[p] = q;
    if (q !== -1) this.#prev[q] = p;
  }

  #relink(e: number): void {
    const p = this.#prev[e] as number;
    const q = this.#next[e] as number;
    this.#next[p] = e;
    if (q !== -1) this.#prev[q] = e;
  }

  /** Searches for up to `iterations` steps, or until `deadline`; sets `verdict` when decided. */
  run(iterations: number, now: () => number, deadline: number): void {
    if (this.verdict !== undefined) return;
    const model = this.#model;
    const entries = this.#entries;
    const next = this.#next;
    const head = this.#head;
    const linearized = this.#linearized;
    const cache = this.#cache;
    let entry = this.#entry;
    let state = this.#state;
    let depth = this.#depth;

    for (let i = 1; i <= iterations; i++) {
      if (next[head] === -1) {
        this.verdict = 'linearizable';
        break;
      }
      // Reading the clock on every step would dominate the run time.
      if ((i & 0x3ff) === 0) {
        if (now() > deadline) {
          this.#giveUp('timeout');
          break;
        }
        if (cache.size > this.#maxConfigurations) {
          this.#giveUp('too-many-configurations');
          break;
        }
      }
      if (entries.isCall[entry] === 1) {
        const op = entries.op[entry] as number;
        const result = model.step(state, this.#inputs[op] as I, this.#outputs[op] as O | UnknownOutput);
        if (result.ok) {
          linearized.set(op);
          if (cache.add(linearized, result.newState, model.hash(result.newState))) {
            this.#stackOp[depth] = op;
            this.#stackState[depth] = state;
            depth++;
            state = result.newState;
            this.#unlink(entry);
            this.#unlink(entries.returnOf[op] as number);
            if (depth > this.#best.length) {
              for (let k = this.#lowWater; k < depth; k++) this.#best[k] = this.#stackOp[k] as number;
              this.#lowWater = depth;
            }
            entry = next[head] as number;
            continue;
          }
          linearized.clear(op);
        }
        entry = next[entry] as number;
        continue;
      }
      // A return entry: its operation had to be linearized by now and was
      // not, so undo the most recent choice and try the next candidate.
      if (depth === 0) {
        this.verdict = 'not-linearizable';
        break;
      }
      depth--;
      if (depth < this.#lowWater) this.#lowWater = depth;
      const op = this.#stackOp[depth] as number;
      state = this.#stackState[depth] as S;
      this.#stackState[depth] = undefined as S; // let the state be collected
      linearized.clear(op);
      const call = entries.callOf[op] as number;
      this.#relink(entries.returnOf[op] as number);
      this.#relink(call);
      entry = next[call] as number;
    }
    if (this.verdict === undefined && next[head] === -1) this.verdict = 'linearizable';
    this.#entry = entry;
    this.#state = state;
    this.#depth = depth;
  }

  #giveUp(reason: UndecidedReason): void {
    this.verdict = 'unknown';
    this.#undecided = reason;
  }

  /** The result so far; an undecided search reports `unknown` for `reason`. */
  result(reason: UndecidedReason): PartitionResult<I, O> {
    const ops = this.#ops;
    const verdict = this.verdict ?? 'unknown';
    const result: PartitionResult<I, O> = {
      key: this.#key,
      verdict,
      operations: ops,
      removed: this.#removed,
      longestPrefix: this.#best.map((i) => (ops[i] as Operation<I, O>).id),
      explored: this.#cache.size,
      elapsedMs: this.elapsedMs,
    };
    if (verdict === 'unknown') return { ...result, undecided: this.#undecided ?? reason };
    if (verdict === 'linearizable') return result;
    return {
      ...result,
      failure: explainFailure(this.#model, ops, this.#inputs, this.#outputs, this.#entries, this.#best),
    };
  }
}

/**
 * Replays the longest prefix and looks at what could come next: the calls
 * before the first remaining return. The search proved none of them leads to
 * a full linearization; this says which the model refused outright.
 */
function explainFailure<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  inputs: readonly I[],
  outputs: readonly (O | UnknownOutput)[],
  entries: EntryTable,
  best: readonly number[],
): LinearizationFailure {
  let state = model.init();
  const done = new Set<number>();
  for (const op of best) {
    const r = model.step(state, inputs[op] as I, outputs[op] as O | UnknownOutput);
    if (r.ok) state = r.newState;
    done.add(op);
  }
  const candidates: FailureCandidate[] = [];
  let blocked = -1;
  for (let e = 0; e < entries.op.length; e++) {
    const op = entries.op[e] as number;
    if (done.has(op)) continue;
    if (entries.isCall[e] !== 1) {
      blocked = op;
      break;
    }
    const r = model.step(state, inputs[op] as I, outputs[op] as O | UnknownOutput);
    candidates.push({ opId: (ops[op] as Operation<I, O>).id, reason: r.ok ? 'dead-end' : 'rejected' });
  }
  return {
    opId: blocked === -1 ? -1 : (ops[blocked] as Operation<I, O>).id,
    candidates,
    stateAfterPrefix: model.describeState(state),
  };
}
