import { operationsFromHistory } from '../history/operations.js';
import type { History, Operation } from '../history/types.js';
import { Bitset } from './bitset.js';
import { FAST_PATH_BYTES_PER_OPERATION, fastPathCheck, type FastPartition } from './fast-path.js';
import { ADDED, ConfigurationStore, configurationHash, STOPPED, type StoreLimits } from './configuration-store.js';
import { defaultMemoryBudgetBytes, MemoryBudget } from './memory-budget.js';
import { UNKNOWN_OUTPUT, type Model, type Partition, type UnknownOutput } from './model.js';
import { NO_ROOM, StateTable } from './state-table.js';

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
  /** The most bytes of the memory budget this partition's search held (its memo cache, states and search structures). */
  readonly peakBytes: number;
}

/**
 * Why a partition was left `unknown`: `timeout` (the time budget ran out),
 * `memory-budget` (its search needed more memory than the budget had left),
 * `too-many-configurations` (the deprecated `maxConfigurations` cap), or
 * `stopped-after-failure` (another partition was not linearizable, so the
 * check stopped).
 */
export type UndecidedReason = 'timeout' | 'memory-budget' | 'too-many-configurations' | 'stopped-after-failure';

/** The memory budget of a check and how much of it was used. */
export interface CheckMemory {
  /** The budget in bytes (`maxMemoryBytes`, or the default). */
  readonly budgetBytes: number;
  /** The most bytes the searches held at once. */
  readonly peakBytes: number;
}

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
  /** The memory budget and its use. */
  readonly memory: CheckMemory;
  /** The time budget, when there was one. */
  readonly timeoutMs?: number;
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
   * Memory budget in bytes, shared by the searches of all partitions: their
   * memo caches, model states and search structures are counted as they
   * grow, and a search that needs more than is left stops with `unknown`
   * (`undecided: 'memory-budget'`) and gives its memory back, so the other
   * partitions can still be decided. Model states are estimated (strings by
   * length, other objects at a flat 64 bytes); everything else is exact.
   * @default a quarter of the machine's memory, at most half of V8's heap
   *   limit (see {@link defaultMemoryBudgetBytes})
   */
  readonly maxMemoryBytes?: number;
  /**
   * The most configurations one partition may memoize before it is given up
   * as `unknown` (`undecided: 'too-many-configurations'`).
   * @deprecated a count says little about memory; use {@link CheckOptions.maxMemoryBytes}.
   * @default no limit
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
  const now = options.now ?? performanceNow;
  const start = now();
  const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : start + options.timeoutMs;
  const budget = new MemoryBudget(options.maxMemoryBytes ?? defaultMemoryBudgetBytes());
  const limits: StoreLimits = { budget, now, deadline };
  const maxConfigurations = options.maxConfigurations ?? Number.POSITIVE_INFINITY;
  // The built-in models first try the fast path, which proves most
  // partitions of an ordinary history linearizable in one cheap pass; the
  // full search below decides the rest (and everything for other models).
  // The deprecated configuration cap keeps its old meaning: full search only.
  const fast = options.maxConfigurations === undefined ? fastPathCheck(model, operations, limits) : undefined;
  const slots: (PartitionResult<I, O> | PartitionSearch<S, I, O>)[] = [];
  const searches: PartitionSearch<S, I, O>[] = [];
  const arena = new SearchArena();
  if (fast === undefined) {
    const partitions: Partition<I, O>[] = model.partition ? model.partition(operations) : [{ key: '', operations }];
    for (let i = 0; i < partitions.length; i++) {
      const search = new PartitionSearch(model, partitions[i] as Partition<I, O>, limits, maxConfigurations, arena);
      searches.push(search);
      slots.push(search);
    }
  } else {
    for (let i = 0; i < fast.partitions.length; i++) {
      const p = fast.partitions[i] as FastPartition<I, O>;
      if (p.witness !== undefined) {
        slots.push(provedResult(p));
        continue;
      }
      const search = new PartitionSearch(model, { key: p.key, operations: p.operations }, limits, maxConfigurations, arena, p.removed);
      search.elapsedMs += p.elapsedMs;
      searches.push(search);
      slots.push(search);
    }
  }

  // Partitions are searched round-robin in slices that double each round. A
  // history is not linearizable as soon as one partition is not, and some
  // partitions are far harder than others, so a cheap failure should not
  // wait behind an expensive search (Porcupine gets the same effect by
  // searching partitions in parallel and stopping at the first failure).
  // A partition that runs out of memory gives its memory back, and the
  // others go on: their verdicts still count.
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
  const reason: UndecidedReason = failed && options.checkAllPartitions !== true ? 'stopped-after-failure' : 'timeout';
  const results = slots.map((s) => (s instanceof PartitionSearch ? s.result(reason) : s));
  const verdict: Verdict = failed ? 'not-linearizable' : results.some((r) => r.verdict === 'unknown') ? 'unknown' : 'linearizable';
  return {
    verdict,
    model: model.name,
    partitions: results,
    elapsedMs: now() - start,
    memory: { budgetBytes: budget.limitBytes, peakBytes: budget.peakBytes },
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  };
}

/** The result for a partition the fast path proved linearizable, with its witness. */
function provedResult<I, O>(p: FastPartition<I, O>): PartitionResult<I, O> {
  return {
    key: p.key,
    verdict: 'linearizable',
    operations: p.operations,
    removed: p.removed,
    longestPrefix: p.witness ?? [],
    explored: p.visited,
    elapsedMs: p.elapsedMs,
    peakBytes: FAST_PATH_BYTES_PER_OPERATION * p.operations.length,
  };
}

/** The default clock: one function for every check, so code optimised for one check's calls to it still fits the next. */
const performanceNow = (): number => performance.now();

/**
 * The per-operation arrays of every partition's search, cut from a few large
 * buffers shared by the whole check instead of a dozen small typed arrays
 * per partition: each typed array of its own costs a backing-store
 * allocation (and the garbage collector a finalizer), which with a hundred
 * small partitions is most of what a check spends outside the search. The
 * memory is counted per partition in the budget (SEARCH_BYTES_PER_OPERATION),
 * as before.
 */
class SearchArena {
  #chunk = new Int32Array(0);
  #used = 0;
  /** Reused by each partition's setup in turn (setup is synchronous). */
  #scratch = new Float64Array(0);

  /** `words` zeroed 32-bit words, valid for the rest of the check. */
  take(words: number): Int32Array {
    if (this.#used + words > this.#chunk.length) {
      this.#chunk = new Int32Array(Math.max(ARENA_CHUNK_WORDS, words));
      this.#used = 0;
    }
    const view = this.#chunk.subarray(this.#used, this.#used + words);
    this.#used += words;
    return view;
  }

  /** `words` zeroed unsigned words, valid for the rest of the check. */
  takeUnsigned(words: number): Uint32Array {
    const view = this.take(words);
    return new Uint32Array(view.buffer, view.byteOffset, words);
  }

  /** A scratch array of `n` doubles, valid until the next call. */
  scratch(n: number): Float64Array {
    if (this.#scratch.length < n) this.#scratch = new Float64Array(Math.max(n, 2 * this.#scratch.length, 1024));
    return this.#scratch.subarray(0, n);
  }
}

/** Words per arena buffer (256 KiB); a partition needing more gets a buffer of its own size. */
const ARENA_CHUNK_WORDS = 1 << 16;

/** The entries of the search list: an operation's call and its return, in real-time order. */
interface EntryTable {
  /** Entry index -> operation index. */
  readonly op: Int32Array;
  /** Entry index -> 1 for a call, 0 for a return. */
  readonly isCall: Int32Array;
  /** Operation index -> its call entry. */
  readonly callOf: Int32Array;
  /** Operation index -> its return entry. */
  readonly returnOf: Int32Array;
}

/**
 * Bytes of the search structures per operation, reserved in the budget when
 * a partition's search is set up: the entry table (18), the list links (16),
 * the stack (12), the longest prefix (8), inputs and outputs (16) and the
 * operations in invoke order (8), rounded up.
 */
const SEARCH_BYTES_PER_OPERATION = 80;
const SEARCH_BYTES_FIXED = 1024;

/**
 * The operations of a partition that happened (`fail` ones removed), in
 * invoke order, with their inputs and outputs: one pass, no closures, so the
 * first check in a process (run by V8's interpreter) does little work per
 * operation.
 */
function prepareOperations<I, O>(
  source: readonly Operation<I, O>[],
): { ops: Operation<I, O>[]; inputs: I[]; outputs: (O | UnknownOutput)[] } {
  let ops: Operation<I, O>[] = [];
  let ordered = true;
  let lastInvoke = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < source.length; i++) {
    const op = source[i] as Operation<I, O>;
    if (op.status === 'fail') continue;
    if (op.invokeIndex < lastInvoke) ordered = false;
    lastInvoke = op.invokeIndex;
    ops.push(op);
  }
  if (!ordered) ops = ops.sort((a, b) => a.invokeIndex - b.invokeIndex);
  const n = ops.length;
  const inputs = new Array<I>(n);
  const outputs = new Array<O | UnknownOutput>(n);
  for (let i = 0; i < n; i++) {
    const op = ops[i] as Operation<I, O>;
    inputs[i] = op.input;
    outputs[i] = op.status === 'ok' ? (op.output as O) : UNKNOWN_OUTPUT;
  }
  return { ops, inputs, outputs };
}

/** Return times below this, with fewer operations than PACKED_OPS, are sorted as packed numbers. */
const PACKED_TIMES = 2 ** 31;
const PACKED_OPS = 2 ** 21;

/**
 * Operation indexes ordered by return time, ties (open operations) by index.
 * Return times are history positions, so they usually pack with the index
 * into one exact double, and a numeric sort without a comparator needs no
 * call into JavaScript per comparison (which is what a cold check pays most
 * for); anything else takes the comparator.
 */
function sortedReturns(returnAt: Float64Array, returns: Int32Array, keys: Float64Array): Int32Array {
  const n = returnAt.length;
  let finiteMax = 0;
  let packable = n < PACKED_OPS;
  for (let i = 0; i < n && packable; i++) {
    const t = returnAt[i] as number;
    if (t === Number.POSITIVE_INFINITY) continue;
    if (!Number.isInteger(t) || t < 0 || t >= PACKED_TIMES) packable = false;
    else if (t > finiteMax) finiteMax = t;
  }
  if (packable) {
    for (let i = 0; i < n; i++) {
      const t = returnAt[i] as number;
      keys[i] = (t === Number.POSITIVE_INFINITY ? finiteMax + 1 : t) * PACKED_OPS + i;
    }
    keys.sort();
    for (let i = 0; i < n; i++) returns[i] = (keys[i] as number) % PACKED_OPS;
    return returns;
  }
  for (let i = 0; i < n; i++) returns[i] = i;
  return returns.sort((a, b) => (returnAt[a] as number) - (returnAt[b] as number) || a - b);
}

/**
 * The search list for operations in invoke order: calls come in operation
 * order, so only the returns need sorting, and the two runs are merged.
 */
function buildEntries<I, O>(ops: readonly Operation<I, O>[], arena: SearchArena): EntryTable {
  const n = ops.length;
  // An unknown outcome may take effect at any time after the invoke, so its
  // "return" is at the end of time, after every call; open returns keep
  // operation order among themselves.
  const scratch = arena.scratch(2 * n);
  const returnAt = scratch.subarray(0, n);
  for (let i = 0; i < n; i++) {
    const op = ops[i] as Operation<I, O>;
    returnAt[i] = op.status !== 'ok' || op.completeIndex === undefined ? Number.POSITIVE_INFINITY : op.completeIndex;
  }
  const returns = sortedReturns(returnAt, arena.take(n), scratch.subarray(n, 2 * n));

  const table: EntryTable = {
    op: arena.take(2 * n),
    isCall: arena.take(2 * n),
    callOf: arena.take(n),
    returnOf: arena.take(n),
  };
  let call = 0;
  let ret = 0;
  for (let e = 0; e < 2 * n; e++) {
    const r = ret < n ? (returns[ret] as number) : -1;
    if (call < n && (r === -1 || (ops[call] as Operation<I, O>).invokeIndex < (returnAt[r] as number))) {
      table.op[e] = call;
      table.isCall[e] = 1;
      table.callOf[call++] = e;
    } else {
      table.op[e] = r;
      table.returnOf[r] = e;
      ret++;
    }
  }
  return table;
}

/**
 * The Wing–Gong search over one partition, with Lowe's memoization. It can
 * stop after a number of iterations and resume later, which lets the
 * scheduler interleave partitions.
 *
 * Operations are numbered in invoke order. The first entry left in the list
 * is then always the call of the lowest operation not yet linearized, so
 * every operation below it is linearized; the memo key needs only the
 * bitset's words from there to the highest linearized operation (see
 * {@link ConfigurationStore}).
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
  readonly #states: StateTable<S>;
  readonly #store: ConfigurationStore;
  /** For each level of the search: the operation linearized, and the state id and highest linearized operation before it. */
  readonly #stackOp: Int32Array;
  readonly #stackState: Int32Array;
  readonly #stackMax: Int32Array;
  #depth = 0;
  #stateId = 0;
  /** The highest operation linearized on the current path, or -1. */
  #max = -1;
  #entry: number;
  #searchBytes = 0;
  #peakBytes = 0;
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

  constructor(
    model: Model<S, I, O>,
    partition: Partition<I, O>,
    limits: StoreLimits,
    maxConfigurations: number,
    arena: SearchArena,
    removedBefore = 0,
  ) {
    this.#model = model;
    this.#key = partition.key;
    this.#maxConfigurations = maxConfigurations;
    const { ops, inputs, outputs } = prepareOperations(partition.operations);
    this.#ops = ops;
    this.#removed = removedBefore + partition.operations.length - ops.length;
    const n = ops.length;
    this.#inputs = inputs;
    this.#outputs = outputs;
    this.#entries = buildEntries(ops, arena);

    // A doubly linked list over the entries with a head sentinel at index 2n.
    // Linearizing an operation unlinks its call and return; backtracking
    // links them back (Knuth's dancing links), so both are O(1).
    this.#head = 2 * n;
    this.#next = arena.take(2 * n + 1);
    this.#prev = arena.take(2 * n + 1);
    for (let e = 0; e < 2 * n; e++) {
      this.#next[e] = e + 1 < 2 * n ? e + 1 : -1;
      this.#prev[e] = e === 0 ? this.#head : e - 1;
    }
    this.#next[this.#head] = n > 0 ? 0 : -1;
    this.#prev[this.#head] = -1;

    this.#linearized = new Bitset(n, arena.takeUnsigned(Bitset.wordsFor(n)));
    this.#states = new StateTable<S>(model.equal, limits.budget);
    this.#store = new ConfigurationStore(limits, this.#linearized.words.length, n);
    this.#stackOp = arena.take(n);
    this.#stackState = arena.take(n);
    this.#stackMax = arena.take(n);
    this.#entry = this.#next[this.#head] as number;
    if (n === 0) {
      this.verdict = 'linearizable';
      return;
    }
    const searchBytes = SEARCH_BYTES_FIXED + SEARCH_BYTES_PER_OPERATION * n;
    if (!limits.budget.reserve(searchBytes)) {
      this.#giveUp('memory-budget');
      return;
    }
    this.#searchBytes = searchBytes;
    const init = model.init();
    this.#stateId = this.#states.intern(init, model.hash(init));
    if (this.#stateId === NO_ROOM) this.#giveUp('memory-budget');
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
    const words = linearized.words;
    const states = this.#states;
    const store = this.#store;
    let entry = this.#entry;
    let stateId = this.#stateId;
    let max = this.#max;
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
        if (store.size > this.#maxConfigurations) {
          this.#giveUp('too-many-configurations');
          break;
        }
      }
      if (entries.isCall[entry] === 1) {
        const op = entries.op[entry] as number;
        const state = states.state(stateId);
        const result = model.step(state, this.#inputs[op] as I, this.#outputs[op] as O | UnknownOutput);
        if (result.ok) {
          // A read leaves the state as it was: same id, no hashing or lookup.
          const newId = result.newState === state ? stateId : states.intern(result.newState, model.hash(result.newState));
          if (newId === NO_ROOM) {
            this.#giveUp('memory-budget');
            break;
          }
          const ret = entries.returnOf[op] as number;
          linearized.set(op);
          this.#unlink(entry);
          this.#unlink(ret);
          const newMax = op > max ? op : max;
          const first = next[head] as number;
          // With nothing left in the list everything is linearized: no need to memoize.
          if (first !== -1) {
            const lowest = entries.op[first] as number;
            const top = newMax > lowest ? newMax : lowest;
            const outcome = store.add(words, lowest >>> 5, (top >>> 5) + 1, newId, configurationHash(linearized.hash, newId));
            if (outcome !== ADDED) {
              this.#relink(ret);
              this.#relink(entry);
              linearized.clear(op);
              if (outcome === STOPPED) {
                this.#giveUp(store.stopReason ?? 'memory-budget');
                break;
              }
              entry = next[entry] as number;
              continue;
            }
          }
          this.#stackOp[depth] = op;
          this.#stackState[depth] = stateId;
          this.#stackMax[depth] = max;
          depth++;
          stateId = newId;
          max = newMax;
          if (depth > this.#best.length) {
            for (let k = this.#lowWater; k < depth; k++) this.#best[k] = this.#stackOp[k] as number;
            this.#lowWater = depth;
          }
          entry = next[head] as number;
          continue;
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
      stateId = this.#stackState[depth] as number;
      max = this.#stackMax[depth] as number;
      linearized.clear(op);
      const call = entries.callOf[op] as number;
      this.#relink(entries.returnOf[op] as number);
      this.#relink(call);
      entry = next[call] as number;
    }
    if (this.verdict === undefined && next[head] === -1) this.verdict = 'linearizable';
    this.#entry = entry;
    this.#stateId = stateId;
    this.#max = max;
    this.#depth = depth;
    if (this.verdict !== undefined) this.#release();
  }

  #giveUp(reason: UndecidedReason): void {
    this.verdict = 'unknown';
    this.#undecided = reason;
    this.#release();
  }

  /** Once decided (or given up), the memo cache and states are of no more use: back to the budget with them. */
  #release(): void {
    const held = this.#searchBytes + this.#store.reservedBytes + this.#states.reservedBytes;
    if (held > this.#peakBytes) this.#peakBytes = held;
    this.#store.release();
    this.#states.release();
  }

  /** The bytes this search holds now, or held at most once it is done. */
  get heldBytes(): number {
    return Math.max(this.#peakBytes, this.#searchBytes + this.#store.reservedBytes + this.#states.reservedBytes);
  }

  #longestPrefixIds(): number[] {
    const best = this.#best;
    const ops = this.#ops;
    const ids = new Array<number>(best.length);
    for (let k = 0; k < best.length; k++) ids[k] = (ops[best[k] as number] as Operation<I, O>).id;
    return ids;
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
      longestPrefix: this.#longestPrefixIds(),
      explored: this.#store.size,
      elapsedMs: this.elapsedMs,
      peakBytes: this.heldBytes,
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
