import type { HistoryCodec } from './jsonl.js';

/** A register value; `null` is the initial "nothing written yet" (Jepsen's `nil`). */
export type RegisterValue = number | string | null;

/** Operations on a single compare-and-set register, as in Jepsen's cas-register tests. */
export type RegisterInput =
  | { readonly f: 'read' }
  | { readonly f: 'write'; readonly value: RegisterValue }
  | { readonly f: 'cas'; readonly expected: RegisterValue; readonly value: RegisterValue };

/**
 * What a completed register operation returned. In Jepsen histories a CAS
 * that did not match is a `:fail` (removed), so an `ok` CAS has `swapped: true`;
 * a store that reports the mismatch as a result uses `swapped: false`.
 */
export type RegisterOutput =
  | { readonly f: 'read'; readonly value: RegisterValue }
  | { readonly f: 'write' }
  | { readonly f: 'cas'; readonly swapped: boolean };

function registerValue(v: unknown, field: string): RegisterValue {
  if (v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) return v;
  throw new TypeError(`"${field}" must be a number, a string or null`);
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${what} must be an object`);
  }
  return value as Record<string, unknown>;
}

/**
 * Reads and writes {@link RegisterInput}/{@link RegisterOutput} in JSON-lines histories.
 *
 * @example
 * ```ts
 * const { history } = parseHistoryJsonl(text, registerCodec);
 * ```
 */
export const registerCodec: HistoryCodec<RegisterInput, RegisterOutput> = {
  decodeInput(value) {
    const obj = record(value, 'input');
    switch (obj['f']) {
      case 'read':
        return { f: 'read' };
      case 'write':
        return { f: 'write', value: registerValue(obj['value'], 'value') };
      case 'cas':
        return {
          f: 'cas',
          expected: registerValue(obj['expected'], 'expected'),
          value: registerValue(obj['value'], 'value'),
        };
      default:
        throw new TypeError(`"f" must be read, write or cas, not ${JSON.stringify(obj['f'])}`);
    }
  },
  decodeOutput(value) {
    const obj = record(value, 'output');
    switch (obj['f']) {
      case 'read':
        return { f: 'read', value: registerValue(obj['value'], 'value') };
      case 'write':
        return { f: 'write' };
      case 'cas': {
        const swapped = obj['swapped'];
        if (typeof swapped !== 'boolean') throw new TypeError('"swapped" must be a boolean');
        return { f: 'cas', swapped };
      }
      default:
        throw new TypeError(`"f" must be read, write or cas, not ${JSON.stringify(obj['f'])}`);
    }
  },
};
