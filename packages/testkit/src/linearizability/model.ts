import type { Operation } from '../history/types.js';

/**
 * Passed to {@link Model.step} instead of an output when the operation's
 * outcome is unknown (`info`, or never completed). The model must then accept
 * any output the operation could have produced from that state, and still
 * return the state it leads to.
 */
export const UNKNOWN_OUTPUT: unique symbol = Symbol('synod.unknownOutput');

/** The type of {@link UNKNOWN_OUTPUT}. */
export type UnknownOutput = typeof UNKNOWN_OUTPUT;

/** What {@link Model.step} returns. */
export type StepResult<S> = { readonly ok: true; readonly newState: S } | { readonly ok: false };

/** One independent slice of a history, checked on its own. */
export interface Partition<I, O> {
  /** Names the slice in results and reports, e.g. the key. */
  readonly key: string;
  readonly operations: readonly Operation<I, O>[];
}

/**
 * A sequential specification: what a single copy of the object does, one
 * operation at a time. The checker searches for an order of the history's
 * operations that this specification accepts.
 *
 * `step` must be a pure, deterministic function, and states must not be
 * mutated after they are returned: the checker keeps old states to backtrack
 * to and to memoize. `hash` and `equal` must agree (equal states, equal
 * hashes); the checker compares with `equal` on every hash match, so hash
 * collisions cost time, never correctness.
 *
 * @typeParam S - the state
 * @typeParam I - an operation's input
 * @typeParam O - an operation's output
 *
 * @example
 * ```ts
 * const flagModel: Model<boolean, 'set' | 'read', boolean | null> = {
 *   name: 'flag',
 *   init: () => false,
 *   step: (state, input, output) =>
 *     input === 'set' ? { ok: true, newState: true }
 *     : output === UNKNOWN_OUTPUT || output === state ? { ok: true, newState: state } : { ok: false },
 *   equal: (a, b) => a === b,
 *   hash: (s) => (s ? 1 : 0),
 *   describeOperation: (input, output) => input === 'set' ? 'set' : `read -> ${String(output)}`,
 *   describeState: (s) => String(s),
 * };
 * ```
 */
export interface Model<S, I, O> {
  /** Short name used in reports, e.g. `kv`. */
  readonly name: string;
  /** The state before any operation. */
  init(): S;
  /**
   * Applies `input` to `state`. Returns `{ ok: false }` when the specification
   * could not have returned `output` from `state`.
   */
  step(state: S, input: I, output: O | UnknownOutput): StepResult<S>;
  equal(a: S, b: S): boolean;
  /** A 32-bit integer hash of a state. */
  hash(state: S): number;
  /**
   * Splits a history into parts that can be checked independently
   * (P-compositionality: a history is linearizable iff each part is). For a
   * key-value store, one part per key. Omit it to check the history whole.
   */
  partition?(operations: readonly Operation<I, O>[]): Partition<I, O>[];
  /** A one-line description such as `put a=1` or `get a -> 1`. */
  describeOperation(input: I, output: O | UnknownOutput): string;
  describeState(state: S): string;
}

/**
 * Groups operations by a key, keeping each group in history order. Models use
 * it to implement {@link Model.partition}.
 *
 * @example
 * ```ts
 * partition: (ops) => partitionByKey(ops, (input) => input.key),
 * ```
 */
export function partitionByKey<I, O>(
  operations: readonly Operation<I, O>[],
  keyOf: (input: I) => string,
): Partition<I, O>[] {
  // Indexed loops, no iterator protocol or destructuring: the first check in
  // a process runs this in V8's interpreter, where those cost per element.
  const groups = new Map<string, Operation<I, O>[]>();
  const partitions: Partition<I, O>[] = [];
  for (let i = 0; i < operations.length; i++) {
    const op = operations[i] as Operation<I, O>;
    const key = keyOf(op.input);
    let group = groups.get(key);
    if (group === undefined) {
      group = [];
      groups.set(key, group);
      partitions.push({ key, operations: group });
    }
    group.push(op);
  }
  return partitions;
}

/**
 * FNV-1a over a string's UTF-16 code units, as an unsigned 32-bit integer.
 * Good enough to spread states over buckets; collisions are resolved by
 * {@link Model.equal}.
 */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
