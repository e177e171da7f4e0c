import type { HistoryCodec } from '../history/jsonl.js';
import { UNKNOWN_OUTPUT, type Model, type StepResult } from './model.js';

/** Operations on a shared counter. */
export type CounterInput = { readonly f: 'add'; readonly delta: number } | { readonly f: 'read' };

/** What a counter operation returned. */
export type CounterOutput = { readonly f: 'add' } | { readonly f: 'read'; readonly value: number };

/**
 * A counter starting at 0 with `add(delta)` and `read`. A small example of a
 * model other than a register: its state is a number, and adds commute, so
 * many orders lead to the same state, which is exactly what the memo cache
 * exploits.
 *
 * @example
 * ```ts
 * const r = new HistoryRecorder<CounterInput, CounterOutput>({ clock });
 * const op = r.invoke('c1', { f: 'add', delta: 2 });
 * r.ok(op, { f: 'add' });
 * checkLinearizability(counterModel, r.history()).verdict; // 'linearizable'
 * ```
 */
export const counterModel: Model<number, CounterInput, CounterOutput> = {
  name: 'counter',
  init: () => 0,
  step(state, input, output): StepResult<number> {
    if (input.f === 'add') return { ok: true, newState: state + input.delta };
    if (output === UNKNOWN_OUTPUT || (output.f === 'read' && output.value === state)) return { ok: true, newState: state };
    return { ok: false };
  },
  equal: (a, b) => a === b,
  hash: (state) => Math.imul(state | 0, 0x9e3779b1) ^ ((state / 4294967296) | 0),
  describeOperation(input, output) {
    if (input.f === 'add') return `add ${input.delta}${output === UNKNOWN_OUTPUT ? ' -> ?' : ''}`;
    return `read -> ${output === UNKNOWN_OUTPUT ? '?' : output.f === 'read' ? String(output.value) : '(bad output)'}`;
  },
  describeState: (state) => String(state),
};

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError(`${what} must be an object`);
  return value as Record<string, unknown>;
}

function finite(obj: Record<string, unknown>, field: string): number {
  const v = obj[field];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`"${field}" must be a finite number`);
  return v;
}

/**
 * Reads and writes counter operations in JSON-lines histories.
 *
 * @example
 * ```ts
 * parseHistoryJsonl(text, counterCodec);
 * ```
 */
export const counterCodec: HistoryCodec<CounterInput, CounterOutput> = {
  decodeInput(value) {
    const obj = record(value, 'input');
    if (obj['f'] === 'add') return { f: 'add', delta: finite(obj, 'delta') };
    if (obj['f'] === 'read') return { f: 'read' };
    throw new TypeError(`"f" must be add or read, not ${JSON.stringify(obj['f'])}`);
  },
  decodeOutput(value) {
    const obj = record(value, 'output');
    if (obj['f'] === 'add') return { f: 'add' };
    if (obj['f'] === 'read') return { f: 'read', value: finite(obj, 'value') };
    throw new TypeError(`"f" must be add or read, not ${JSON.stringify(obj['f'])}`);
  },
};
