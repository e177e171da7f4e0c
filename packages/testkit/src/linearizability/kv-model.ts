import type { KvInput, KvOutput } from '../history/kv-ops.js';
import { markRegisterSemantics } from './fast-path.js';
import { hashString, partitionByKey, UNKNOWN_OUTPUT, type Model, type StepResult, type UnknownOutput } from './model.js';

/**
 * The state of one key: its value, or `null` when absent. The KV model always
 * partitions by key, so each search only ever sees one key's register.
 */
export type KvState = string | null;

/** Options for {@link createKvModel}. */
export interface KvModelOptions {
  /**
   * What a get of an absent key returns (besides `null`, which always means
   * absent), and what a CAS compares an absent key as.
   * @default null. Porcupine's kv histories use `''`; see {@link porcupineKvModel}.
   */
  readonly absentReadsAs?: string | null;
  /** @default 'kv' */
  readonly name?: string;
}

const NULL_HASH = 0x6a09e667;

function show(value: string | null): string {
  return value === null ? 'nil' : JSON.stringify(value);
}

/**
 * A linearizable key-value store: one register per key, with get, put,
 * delete, compare-and-swap and append. Histories are split by key and each
 * key is checked on its own (P-compositionality), which keeps every search
 * small.
 *
 * @example
 * ```ts
 * const model = createKvModel();
 * const result = checkLinearizability(model, recorder.history());
 * ```
 */
export function createKvModel(options: KvModelOptions = {}): Model<KvState, KvInput, KvOutput> {
  const absent = options.absentReadsAs ?? null;
  const read = (state: KvState): string | null => state ?? absent;
  const same = (state: KvState): StepResult<KvState> => ({ ok: true, newState: state });
  const no: StepResult<KvState> = { ok: false };

  const model: Model<KvState, KvInput, KvOutput> = {
    name: options.name ?? 'kv',
    init: () => null,
    step(state: KvState, input: KvInput, output: KvOutput | UnknownOutput): StepResult<KvState> {
      const known = output !== UNKNOWN_OUTPUT;
      if (known && output.f !== input.f) return no;
      switch (input.f) {
        case 'get':
          // `null` always means "absent"; `absentReadsAs` adds another spelling of it.
          if (!known || (output.f === 'get' && (output.value === read(state) || (state === null && output.value === null)))) {
            return same(state);
          }
          return no;
        case 'put':
          return { ok: true, newState: input.value };
        case 'append':
          return { ok: true, newState: (state ?? absent ?? '') + input.value };
        case 'delete':
          if (known && output.f === 'delete' && output.existed !== undefined && output.existed !== (state !== null)) return no;
          return { ok: true, newState: null };
        case 'cas': {
          // An unknown CAS is deterministic too: it swaps exactly when the
          // value matches. "Maybe it never ran" is covered by the checker,
          // which may place an open operation after everything else.
          const matches = read(state) === input.expected;
          if (known && output.f === 'cas' && output.swapped !== matches) return no;
          return matches ? { ok: true, newState: input.value } : same(state);
        }
      }
    },
    equal: (a, b) => a === b,
    hash: (state) => (state === null ? NULL_HASH : hashString(state)),
    partition: (operations) => partitionByKey(operations, (input) => input.key),
    describeOperation(input, output) {
      const tail = (known: string): string => (output === UNKNOWN_OUTPUT ? ' -> ?' : known);
      switch (input.f) {
        case 'get':
          return `get ${input.key}${tail(output !== UNKNOWN_OUTPUT && output.f === 'get' ? ` -> ${show(output.value)}` : '')}`;
        case 'put':
          return `put ${input.key}=${show(input.value)}${tail('')}`;
        case 'append':
          return `append ${input.key}+=${show(input.value)}${tail('')}`;
        case 'delete':
          return `delete ${input.key}${tail(
            output !== UNKNOWN_OUTPUT && output.f === 'delete' && output.existed !== undefined ? ` -> ${output.existed ? 'existed' : 'absent'}` : '',
          )}`;
        case 'cas':
          return `cas ${input.key} ${show(input.expected)}->${show(input.value)}${tail(
            output !== UNKNOWN_OUTPUT && output.f === 'cas' ? ` -> ${output.swapped ? 'swapped' : 'not swapped'}` : '',
          )}`;
      }
    },
    describeState: (state) => show(state),
  };
  return markRegisterSemantics(model, 'kv', absent);
}

/**
 * The KV model with absent keys reading as `null`.
 *
 * @example
 * ```ts
 * checkLinearizability(kvModel, history).verdict;
 * ```
 */
export const kvModel: Model<KvState, KvInput, KvOutput> = createKvModel();

/**
 * The KV model for Porcupine's kv histories, where a get of an absent key
 * returns `""` and append concatenates.
 *
 * @example
 * ```ts
 * checkLinearizability(porcupineKvModel, parseEdnKvHistory(text)).verdict;
 * ```
 */
export const porcupineKvModel: Model<KvState, KvInput, KvOutput> = createKvModel({ absentReadsAs: '', name: 'kv-porcupine' });
