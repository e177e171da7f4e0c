import type { HistoryCodec } from './jsonl.js';

/**
 * Operations on a key-value store, as a client records them. Values are
 * strings; `null` means "no value" (the key is absent).
 *
 * A CAS that finds another value is still an `ok` operation, with
 * `swapped: false`: the client learned something about the state. Only an
 * operation that definitely did not run is a `fail`.
 */
export type KvInput =
  | { readonly f: 'get'; readonly key: string }
  | { readonly f: 'put'; readonly key: string; readonly value: string }
  | { readonly f: 'delete'; readonly key: string }
  /** Sets `value` only if the current value is `expected` (`null`: only if absent). */
  | { readonly f: 'cas'; readonly key: string; readonly expected: string | null; readonly value: string }
  /** Appends to the current value (an absent key counts as empty). Used by Porcupine's kv histories. */
  | { readonly f: 'append'; readonly key: string; readonly value: string };

/** What a completed KV operation returned. */
export type KvOutput =
  | { readonly f: 'get'; readonly value: string | null }
  | { readonly f: 'put' }
  /** `existed`, when the store reports it, says whether the key was present. */
  | { readonly f: 'delete'; readonly existed?: boolean }
  | { readonly f: 'cas'; readonly swapped: boolean }
  | { readonly f: 'append' };

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${what} must be an object`);
  }
  return value as Record<string, unknown>;
}

function str(obj: Record<string, unknown>, field: string): string {
  const v = obj[field];
  if (typeof v !== 'string') throw new TypeError(`"${field}" must be a string`);
  return v;
}

function strOrNull(obj: Record<string, unknown>, field: string): string | null {
  const v = obj[field];
  if (v !== null && typeof v !== 'string') throw new TypeError(`"${field}" must be a string or null`);
  return v;
}

/**
 * Reads and writes {@link KvInput}/{@link KvOutput} in JSON-lines histories.
 *
 * @example
 * ```ts
 * const { history } = parseHistoryJsonl(text, kvCodec);
 * ```
 */
export const kvCodec: HistoryCodec<KvInput, KvOutput> = {
  decodeInput(value) {
    const obj = record(value, 'input');
    const f = obj['f'];
    const key = str(obj, 'key');
    switch (f) {
      case 'get':
      case 'delete':
        return { f, key };
      case 'put':
      case 'append':
        return { f, key, value: str(obj, 'value') };
      case 'cas':
        return { f, key, expected: strOrNull(obj, 'expected'), value: str(obj, 'value') };
      default:
        throw new TypeError(`"f" must be get, put, delete, cas or append, not ${JSON.stringify(f)}`);
    }
  },
  decodeOutput(value) {
    const obj = record(value, 'output');
    const f = obj['f'];
    switch (f) {
      case 'get':
        return { f, value: strOrNull(obj, 'value') };
      case 'put':
      case 'append':
        return { f };
      case 'delete': {
        const existed = obj['existed'];
        if (existed === undefined) return { f };
        if (typeof existed !== 'boolean') throw new TypeError('"existed" must be a boolean');
        return { f, existed };
      }
      case 'cas': {
        const swapped = obj['swapped'];
        if (typeof swapped !== 'boolean') throw new TypeError('"swapped" must be a boolean');
        return { f, swapped };
      }
      default:
        throw new TypeError(`"f" must be get, put, delete, cas or append, not ${JSON.stringify(f)}`);
    }
  },
};
