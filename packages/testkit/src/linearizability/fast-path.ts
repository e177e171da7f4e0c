import type { Operation } from '../history/types.js';
import type { StoreLimits } from './configuration-store.js';
import type { Model } from './model.js';

/**
 * Marks a built-in model whose semantics the fast path knows: a register
 * (one per key for the KV model) holding a value, with read, write, cas and
 * delete. The property is not enumerable, so a model copied with a spread
 * (`{ ...kvModel, step }`) loses it and is checked by the full search only;
 * the fast path also checks that `init`, `step` and `partition` are still
 * the ones it was built for.
 */
export const REGISTER_SEMANTICS: unique symbol = Symbol('synod.registerSemantics');

/** What the fast path needs to know about a built-in register or KV model. */
export interface RegisterSemantics {
  /** `kv`: inputs carry a key and `get`/`put`/`delete`/`cas`; `register`: one register, `read`/`write`/`cas`. */
  readonly kind: 'kv' | 'register';
  /** What a read of an absent key returns besides `null` (the KV model's `absentReadsAs`). */
  readonly absentReadsAs: string | null;
  readonly init: unknown;
  readonly step: unknown;
  readonly partition: unknown;
}

/** Attaches {@link RegisterSemantics} to a built-in model (not enumerable, see {@link REGISTER_SEMANTICS}). */
export function markRegisterSemantics<S, I, O>(
  model: Model<S, I, O>,
  kind: RegisterSemantics['kind'],
  absentReadsAs: string | null,
): Model<S, I, O> {
  const semantics: RegisterSemantics = { kind, absentReadsAs, init: model.init, step: model.step, partition: model.partition };
  Object.defineProperty(model, REGISTER_SEMANTICS, { value: semantics, enumerable: false });
  return model;
}

function semanticsOf(model: object): RegisterSemantics | undefined {
  const semantics = (model as { [REGISTER_SEMANTICS]?: RegisterSemantics })[REGISTER_SEMANTICS];
  if (semantics === undefined) return undefined;
  const m = model as Model<unknown, unknown, unknown>;
  if (semantics.init !== m.init || semantics.step !== m.step || semantics.partition !== m.partition) return undefined;
  return semantics;
}

/** Operation kinds, with the model's step written out for each. */
const FAILED = -1;
const READ = 0;
const WRITE = 1;
const CAS = 2;
const DELETE = 3;

/**
 * Bytes per operation of the fast path's arrays: per operation 7 words
 * (key, kind, known, call and return entries, stack of operations) and three
 * values (8 bytes each, plus the stack of states), per entry 4 words
 * (operation, call flag, list links), and the position table (4 words).
 */
export const FAST_PATH_BYTES_PER_OPERATION = 4 * 7 + 8 * 4 + 2 * 4 * 4 + 4 * 4;

/** One partition (key) as the fast path left it. */
export interface FastPartition<I, O> {
  readonly key: string;
  /** The key's operations that happened (`fail` ones removed), in invoke order. */
  readonly operations: readonly Operation<I, O>[];
  /** How many `fail` operations the key had. */
  readonly removed: number;
  /**
   * A complete linearization (operation ids in order) when the fast path
   * found one, which proves the partition linearizable; undefined when it
   * did not, and the full search must decide.
   */
  readonly witness: readonly number[] | undefined;
  /** Configurations the fast path stepped through. */
  readonly visited: number;
  readonly elapsedMs: number;
}

/** The fast path's answer for a whole history: one entry per key, in order of first appearance. */
export interface FastPathOutcome<I, O> {
  readonly partitions: readonly FastPartition<I, O>[];
}

/**
 * Steps of the search per entry a partition may take before the fast path
 * gives it to the full search. A history with little concurrency needs about
 * one step per entry; a hard one should not be searched twice at length.
 */
const STEPS_PER_ENTRY = 2;
const STEPS_FIXED = 256;

/**
 * Operations (or positions) per call of a phase's chunk function. V8 only
 * moves a function to faster code (baseline, then optimised) between calls,
 * or by on-stack replacement, which compiles in the background and, on a
 * busy machine, arrives after a one-shot loop is over; a loop cut into calls
 * runs most of a first check on compiled code.
 */
const CHUNK = 512;

/**
 * A fast path for the built-in register and KV models: the Wing–Gong search
 * without the memo cache, over operations encoded once into flat arrays
 * (the model's step written out inline, on the values themselves, with the
 * same comparisons as the model), with a step limit per partition. Whatever
 * it finds is a real linearization, so a partition it linearizes completely
 * is proven linearizable; every other partition (step limit reached, a
 * failure, the deadline) is handed to the full search, which alone may
 * answer `not linearizable` or `unknown`.
 *
 * Why it is fast: a first check in a fresh process starts in V8's
 * interpreter, where each object, closure, Map of strings and call through
 * the model interface costs; here the work per operation is a few array
 * reads and compares, in loops cut into calls (see {@link CHUNK}).
 *
 * @returns undefined when the model is not a built-in one, the operations are
 *   not in invoke order at distinct integer positions (as
 *   `operationsFromHistory` makes them), an input or output is not one the
 *   fast path knows, or the budget has no room; the full search then checks
 *   the whole history.
 */
export function fastPathCheck<S, I, O>(
  model: Model<S, I, O>,
  operations: readonly Operation<I, O>[],
  limits: StoreLimits,
): FastPathOutcome<I, O> | undefined {
  const semantics = semanticsOf(model);
  if (semantics === undefined) return undefined;
  const n = operations.length;
  const bytes = 1024 + FAST_PATH_BYTES_PER_OPERATION * n;
  if (!limits.budget.reserve(bytes)) return undefined;
  try {
    const enc = new EncodedHistory(n, semantics.kind === 'kv');
    for (let from = 0; from < n; from += CHUNK) {
      if (!encodeOperations(operations, enc, from, Math.min(n, from + CHUNK))) return undefined;
    }
    const lists = new EntryLists(enc);
    for (let from = 0; from < enc.positions; from += CHUNK) linkPositions(enc, lists, from, Math.min(enc.positions, from + CHUNK));
    if (enc.unknownCount > 0) linkUnknownReturns(enc, lists);
    const search = new SearchSpace(operations, enc, lists, semantics.absentReadsAs, limits);
    const partitions: FastPartition<I, O>[] = [];
    for (let k = 0; k < enc.keys.length; k++) partitions.push(searchPartition(search, k));
    return { partitions };
  } finally {
    limits.budget.release(bytes);
  }
}

/** The operations as flat arrays, indexed by their position in the caller's list. */
class EncodedHistory {
  readonly isKv: boolean;
  readonly key: Int32Array;
  /** {@link READ}, {@link WRITE}, {@link CAS}, {@link DELETE}, or {@link FAILED}. */
  readonly kind: Int32Array;
  /** 1 when the outcome is known (`ok`). */
  readonly known: Int32Array;
  /** The written value (write, put, cas). */
  readonly value: unknown[];
  /** A cas's expected value. */
  readonly expected: unknown[];
  /** What a known read returned, a cas's `swapped`, a delete's `existed`. */
  readonly out: unknown[];
  /** Position -> 2·op + 1 for its call, 2·op + 2 for its return, 0 for none. */
  readonly table: Int32Array;
  /** One past the highest position used. */
  positions = 0;
  lastInvoke = -1;
  unknownCount = 0;
  readonly keyIds = new Map<string, number>();
  readonly keys: string[] = [];
  /** Per key: how many of its operations happened (`fail` ones do not count). */
  readonly kept: number[] = [];
  readonly removed: number[] = [];

  constructor(n: number, isKv: boolean) {
    this.isKv = isKv;
    this.key = new Int32Array(n);
    this.kind = new Int32Array(n);
    this.known = new Int32Array(n);
    this.value = new Array<unknown>(n).fill(null);
    this.expected = new Array<unknown>(n).fill(null);
    this.out = new Array<unknown>(n).fill(null);
    this.table = new Int32Array(Math.min(4 * n + 16, 2 ** 30));
    if (!isKv) this.#addKey('');
  }

  /** The id of key `name`, added if new. */
  keyId(name: string): number {
    const found = this.keyIds.get(name);
    return found === undefined ? this.#addKey(name) : found;
  }

  #addKey(name: string): number {
    const id = this.keys.length;
    this.keyIds.set(name, id);
    this.keys.push(name);
    this.kept.push(0);
    this.removed.push(0);
    return id;
  }
}

/**
 * Encodes operations [from, to), or gives up (false) on the first one the
 * fast path does not know; the full search then takes the whole history.
 * Indexing the position table checks a position too: a fraction, a
 * negative number or one past the table reads `undefined`, a taken one
 * reads non-zero.
 */
function encodeOperations<I, O>(operations: readonly Operation<I, O>[], enc: EncodedHistory, from: number, to: number): boolean {
  const isKv = enc.isKv;
  const { table, key: opKey, kind: opKind, known: opKnown, value: opValue, expected: opExpected, out: opOut, kept, removed, keyIds } = enc;
  const readF = isKv ? 'get' : 'read';
  const writeF = isKv ? 'put' : 'write';
  let lastInvoke = enc.lastInvoke;
  let positions = enc.positions;
  for (let i = from; i < to; i++) {
    const op = operations[i] as Operation<I, O>;
    const input = op.input as unknown as EncodedInput;
    if (typeof input !== 'object' || input === null) return false;
    let key = 0;
    if (isKv) {
      const name = input.key;
      const found = keyIds.get(name as string);
      if (found !== undefined) key = found;
      else if (typeof name === 'string') key = enc.keyId(name);
      else return false;
    }
    opKey[i] = key;
    const status = op.status;
    if (status === 'fail') {
      opKind[i] = FAILED;
      removed[key] = (removed[key] as number) + 1;
      continue;
    }
    const invoke = op.invokeIndex;
    if (!(invoke > lastInvoke) || table[invoke] !== 0) return false;
    lastInvoke = invoke;
    table[invoke] = 2 * i + 1;
    const f = input.f;
    if (status === 'ok') {
      const complete = op.completeIndex as number;
      if (!(complete > invoke) || table[complete] !== 0) return false;
      table[complete] = 2 * i + 2;
      if (complete >= positions) positions = complete + 1;
      opKnown[i] = 1;
      const output = op.output as unknown as EncodedOutput;
      if (typeof output !== 'object' || output === null || output.f !== f) return false;
      if (f === readF) opOut[i] = output.value;
      else if (f === 'cas') opOut[i] = output.swapped;
      else if (f === 'delete') opOut[i] = output.existed;
    } else {
      if (invoke >= positions) positions = invoke + 1;
      enc.unknownCount++;
    }
    kept[key] = (kept[key] as number) + 1;
    if (f === readF) opKind[i] = READ;
    else if (f === writeF) {
      opKind[i] = WRITE;
      opValue[i] = input.value;
    } else if (f === 'cas') {
      opKind[i] = CAS;
      opValue[i] = input.value;
      opExpected[i] = input.expected;
    } else if (isKv && f === 'delete') opKind[i] = DELETE;
    else return false;
  }
  enc.lastInvoke = lastInvoke;
  enc.positions = positions;
  return true;
}

/**
 * The search lists of all keys, side by side in one set of arrays. Key k's
 * list is a head sentinel at start[k], then its calls and returns in
 * real-time order, up to start[k + 1].
 */
class EntryLists {
  readonly start: Int32Array;
  /** Entry -> operation (-1 for a head). */
  readonly op: Int32Array;
  /** Entry -> 1 for a call, 0 for a return or a head. */
  readonly isCall: Int32Array;
  readonly next: Int32Array;
  readonly prev: Int32Array;
  readonly callOf: Int32Array;
  readonly returnOf: Int32Array;
  /** Key -> its next free entry while the lists are filled. */
  readonly fill: Int32Array;

  constructor(enc: EncodedHistory) {
    const keyCount = enc.keys.length;
    const n = enc.key.length;
    const start = new Int32Array(keyCount + 1);
    this.fill = new Int32Array(keyCount);
    for (let k = 0; k < keyCount; k++) {
      this.fill[k] = (start[k] as number) + 1;
      start[k + 1] = (start[k] as number) + 2 * (enc.kept[k] as number) + 1;
    }
    const size = start[keyCount] as number;
    this.start = start;
    this.op = new Int32Array(size);
    this.isCall = new Int32Array(size);
    this.next = new Int32Array(size);
    this.prev = new Int32Array(size);
    this.callOf = new Int32Array(n);
    this.returnOf = new Int32Array(n);
  }
}

/** Reads positions [from, to) off the table into the keys' lists, in real-time order. */
function linkPositions(enc: EncodedHistory, lists: EntryLists, from: number, to: number): void {
  const { op: entOp, isCall, callOf, returnOf, fill } = lists;
  const table = enc.table;
  const opKey = enc.key;
  for (let p = from; p < to; p++) {
    const code = table[p] as number;
    if (code === 0) continue;
    const op = (code - 1) >> 1;
    const k = opKey[op] as number;
    const e = fill[k] as number;
    fill[k] = e + 1;
    entOp[e] = op;
    if ((code & 1) === 1) {
      isCall[e] = 1;
      callOf[op] = e;
    } else returnOf[op] = e;
  }
}

/** The returns of operations with unknown outcomes go last, in invoke order: they may take effect any time after their invoke. */
function linkUnknownReturns(enc: EncodedHistory, lists: EntryLists): void {
  const { op: entOp, returnOf, fill } = lists;
  const n = enc.key.length;
  for (let op = 0; op < n; op++) {
    if (enc.kind[op] === FAILED || enc.known[op] === 1) continue;
    const k = enc.key[op] as number;
    const e = fill[k] as number;
    fill[k] = e + 1;
    entOp[e] = op;
    returnOf[op] = e;
  }
}

/** What every partition's search shares: the lists, the encoded operations, a stack and scratch arrays. */
class SearchSpace<I, O> {
  /** The linearization found so far, as operation indexes. */
  readonly stackOp: Int32Array;
  /** For the backtracking search: the state before each operation on the stack. */
  readonly stackState: unknown[];
  /** For the greedy pass: 1 once an operation is linearized. */
  readonly done: Int32Array;
  /** For the greedy pass: calls seen but not yet linearized, in invoke order. */
  readonly pending: Int32Array;

  constructor(
    readonly operations: readonly Operation<I, O>[],
    readonly enc: EncodedHistory,
    readonly lists: EntryLists,
    readonly absent: string | null,
    readonly limits: StoreLimits,
  ) {
    const n = operations.length;
    this.stackOp = new Int32Array(n);
    this.stackState = new Array<unknown>(n).fill(null);
    this.done = new Int32Array(n);
    this.pending = new Int32Array(n);
  }
}

/** What {@link step} returns when the model refuses an operation (no register or key can hold it). */
const REJECTED: unique symbol = Symbol('synod.rejected');

/**
 * The built-in models' step over the encoded operation `op`, with the
 * model's own comparisons (kv-model.ts, register-model.ts): the state after
 * it, or {@link REJECTED}.
 */
function step<I, O>(space: SearchSpace<I, O>, op: number, state: unknown): unknown {
  const enc = space.enc;
  const kind = enc.kind[op] as number;
  const known = enc.known[op] === 1;
  // What a read sees: the KV model reads an absent key as `absentReadsAs`.
  const seen = enc.isKv ? (state ?? space.absent) : state;
  if (kind === READ) {
    const out = enc.out[op];
    return !known || out === seen || (state === null && out === null) ? state : REJECTED;
  }
  if (kind === WRITE) return enc.value[op];
  if (kind === CAS) {
    const matches = seen === enc.expected[op];
    if (known && enc.out[op] !== matches) return REJECTED;
    return matches ? enc.value[op] : state;
  }
  const existed = enc.out[op];
  if (known && existed !== undefined && existed !== (state !== null)) return REJECTED;
  return null;
}

/**
 * Key k: a greedy pass first, then, if it fails, the backtracking search;
 * a witness when either linearizes every operation of the key.
 */
function searchPartition<I, O>(space: SearchSpace<I, O>, k: number): FastPartition<I, O> {
  const { start, op: entOp, isCall } = space.lists;
  const { now } = space.limits;
  const began = now();
  const head = start[k] as number;
  const end = start[k + 1] as number;
  const count = space.enc.kept[k] as number;
  // The key's operations in invoke order: its calls, as the list holds them.
  const operations = space.operations;
  const ops = new Array<Operation<I, O>>(count);
  for (let e = head + 1, i = 0; e < end; e++) if (isCall[e] === 1) ops[i++] = operations[entOp[e] as number] as Operation<I, O>;
  let depth = greedyPass(space, head, end);
  let visited = depth;
  if (depth !== count) {
    const search = backtrackingSearch(space, head, end);
    depth = search.depth;
    visited += search.visited;
  }
  let witness: number[] | undefined;
  if (depth === count) {
    const stackOp = space.stackOp;
    witness = new Array<number>(depth);
    for (let d = 0; d < depth; d++) witness[d] = (operations[stackOp[d] as number] as Operation<I, O>).id;
  }
  return { key: space.enc.keys[k] as string, operations: ops, removed: space.enc.removed[k] as number, witness, visited, elapsedMs: now() - began };
}

/**
 * The first path of the Wing–Gong search, without its linked list: walk the
 * key's calls and returns in real-time order, linearize each call the model
 * accepts at once, keep the others pending and retry them (in invoke order)
 * whenever the state changes. Each operation is linearized after its call
 * and before its return, in an order the model accepts, so a pass that gets
 * through every return is a linearization; at a return whose operation is
 * still pending it gives up.
 *
 * @returns how many operations it linearized (on `space.stackOp`); fewer than the key's when it gave up.
 */
function greedyPass<I, O>(space: SearchSpace<I, O>, head: number, end: number): number {
  const { op: entOp, isCall } = space.lists;
  const { stackOp, done, pending } = space;
  let state: unknown = null;
  let depth = 0;
  let waiting = 0;
  for (let e = head + 1; e < end; e++) {
    const op = entOp[e] as number;
    if (isCall[e] === 0) {
      if (done[op] === 1) continue;
      return depth;
    }
    const after = step(space, op, state);
    if (after === REJECTED) {
      pending[waiting++] = op;
      continue;
    }
    stackOp[depth++] = op;
    done[op] = 1;
    if (after === state || waiting === 0) {
      state = after;
      continue;
    }
    state = after;
    // The state changed: a pending call may fit now. Every pending call was
    // refused in the state before, so only a change needs a new look.
    for (let i = 0; i < waiting; ) {
      const candidate = pending[i] as number;
      const next = step(space, candidate, state);
      if (next === REJECTED) {
        i++;
        continue;
      }
      stackOp[depth++] = candidate;
      done[candidate] = 1;
      waiting--;
      for (let j = i; j < waiting; j++) pending[j] = pending[j + 1] as number;
      if (next !== state) {
        state = next;
        i = 0;
      }
    }
  }
  return depth;
}

/**
 * The Wing–Gong search without the memo cache over the key's list (dancing
 * links), up to its step limit, for keys the greedy pass could not do.
 */
function backtrackingSearch<I, O>(space: SearchSpace<I, O>, head: number, end: number): { depth: number; visited: number } {
  const { op: entOp, isCall, next, prev, callOf, returnOf } = space.lists;
  const { stackOp, stackState } = space;
  const { now, deadline } = space.limits;
  for (let e = head; e < end; e++) {
    next[e] = e + 1;
    prev[e] = e - 1;
  }
  next[end - 1] = -1;
  const limit = STEPS_FIXED + STEPS_PER_ENTRY * (end - head);
  let state: unknown = null;
  let depth = 0;
  let visited = 0;
  let entry = next[head] as number;
  for (let steps = 1; next[head] !== -1; steps++) {
    if (steps > limit || ((steps & 0xfff) === 0 && now() > deadline)) return { depth: -1, visited };
    if (isCall[entry] === 1) {
      const op = entOp[entry] as number;
      const after = step(space, op, state);
      if (after === REJECTED) {
        entry = next[entry] as number;
        continue;
      }
      stackOp[depth] = op;
      stackState[depth] = state;
      depth++;
      visited++;
      state = after;
      // Unlink the call and the return (dancing links; put back in reverse order).
      const ret = returnOf[op] as number;
      let p = prev[entry] as number;
      let q = next[entry] as number;
      next[p] = q;
      if (q !== -1) prev[q] = p;
      p = prev[ret] as number;
      q = next[ret] as number;
      next[p] = q;
      if (q !== -1) prev[q] = p;
      entry = next[head] as number;
      continue;
    }
    // A return whose operation is not linearized yet: undo the last choice.
    if (depth === 0) return { depth: -1, visited };
    depth--;
    const op = stackOp[depth] as number;
    state = stackState[depth];
    const call = callOf[op] as number;
    const ret = returnOf[op] as number;
    let p = prev[ret] as number;
    let q = next[ret] as number;
    next[p] = ret;
    if (q !== -1) prev[q] = ret;
    p = prev[call] as number;
    q = next[call] as number;
    next[p] = call;
    if (q !== -1) prev[q] = call;
    entry = next[call] as number;
  }
  return { depth, visited };
}

/** The fields of the built-in models' inputs and outputs the fast path reads. */
interface EncodedInput {
  readonly f?: unknown;
  readonly key?: unknown;
  readonly value?: unknown;
  readonly expected?: unknown;
}
interface EncodedOutput {
  readonly f?: unknown;
  readonly value?: unknown;
  readonly swapped?: unknown;
  readonly existed?: unknown;
}
