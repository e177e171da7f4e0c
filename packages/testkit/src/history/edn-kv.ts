import { EdnKeyword, readEdn, type EdnValue } from './edn.js';
import { HistoryParseError } from './errors.js';
import type { KvInput, KvOutput } from './kv-ops.js';
import { ProcessPairing } from './process-pairing.js';
import type { History } from './types.js';

function keyword(map: ReadonlyMap<string, EdnValue>, field: string, line: number): string {
  const v = map.get(field);
  if (!(v instanceof EdnKeyword)) throw new HistoryParseError(line, `:${field} must be a keyword`);
  return v.name;
}

function kvValue(map: ReadonlyMap<string, EdnValue>, line: number): string | null {
  const v = map.get('value');
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  throw new HistoryParseError(line, ':value must be a string, a number or nil');
}

function requiredValue(map: ReadonlyMap<string, EdnValue>, line: number, f: string): string {
  const v = kvValue(map, line);
  if (v === null) throw new HistoryParseError(line, `:${f} needs a :value`);
  return v;
}

function ednText(value: EdnValue): string {
  if (value instanceof EdnKeyword) return value.toString();
  return typeof value === 'string' ? value : JSON.stringify(value instanceof Map ? Object.fromEntries(value) : value);
}

/**
 * Reads a key-value history in Porcupine's EDN-like line format, one map per
 * line:
 *
 * ```text
 * {:process 0, :type :invoke, :f :get, :key "6", :value nil}
 * {:process 0, :type :ok, :f :get, :key "6", :value "x 0 1 y"}
 * ```
 *
 * Supports `:get`, `:put`, `:append`, `:delete`, and `:cas` with a
 * `[old new]` value; `:invoke`, `:ok`, `:fail` and `:info`. Check it with
 * {@link porcupineKvModel}: in these histories a get of an absent key returns
 * `""`.
 *
 * @throws {@link HistoryParseError} naming the line of the first problem.
 *
 * @example
 * ```ts
 * const history = parseEdnKvHistory(await readFile('c10-ok.txt', 'utf8'));
 * checkLinearizability(porcupineKvModel, history).verdict; // 'linearizable'
 * ```
 */
export function parseEdnKvHistory(text: string): History<KvInput, KvOutput> {
  const pairing = new ProcessPairing<KvInput, KvOutput>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = (lines[i] ?? '').trim();
    if (raw === '' || raw.startsWith(';')) continue;
    let parsed: EdnValue;
    try {
      parsed = readEdn(raw);
    } catch (err) {
      throw new HistoryParseError(lineNo, `bad EDN: ${(err as Error).message}`, { cause: err });
    }
    if (!(parsed instanceof Map)) throw new HistoryParseError(lineNo, 'expected a map like {:process 0, :type :invoke, ...}');
    const map = parsed as ReadonlyMap<string, EdnValue>;
    const process = map.get('process');
    if (typeof process !== 'number' && typeof process !== 'string') {
      throw new HistoryParseError(lineNo, ':process must be a number or a string');
    }
    const type = keyword(map, 'type', lineNo);
    const f = keyword(map, 'f', lineNo);
    const rawKey = map.get('key');
    if (typeof rawKey !== 'string' && typeof rawKey !== 'number') {
      throw new HistoryParseError(lineNo, ':key must be a string or a number');
    }
    const key = String(rawKey);

    if (type === 'invoke') {
      let input: KvInput;
      switch (f) {
        case 'get':
          input = { f: 'get', key };
          break;
        case 'delete':
          input = { f: 'delete', key };
          break;
        case 'put':
        case 'append':
          input = { f, key, value: requiredValue(map, lineNo, f) };
          break;
        case 'cas': {
          const v = map.get('value');
          if (!Array.isArray(v) || v.length !== 2) throw new HistoryParseError(lineNo, ':cas needs a :value like [old new]');
          const [expected, next] = v as readonly EdnValue[];
          if ((expected !== null && typeof expected !== 'string') || typeof next !== 'string') {
            throw new HistoryParseError(lineNo, ':cas needs [old new] with string values (old may be nil)');
          }
          input = { f: 'cas', key, expected: expected ?? null, value: next };
          break;
        }
        default:
          throw new HistoryParseError(lineNo, `unsupported operation :${f}; expected :get, :put, :append, :delete or :cas`);
      }
      pairing.invoke(lineNo, process, f, input);
      continue;
    }
    if (type !== 'ok' && type !== 'fail' && type !== 'info') {
      throw new HistoryParseError(lineNo, `:type must be :invoke, :ok, :fail or :info, not :${type}`);
    }
    const reason = map.get('error');
    pairing.complete(lineNo, process, type, f, reason === undefined || reason === null ? undefined : ednText(reason), (): KvOutput => {
      switch (f) {
        case 'get':
          return { f: 'get', value: kvValue(map, lineNo) };
        case 'cas':
          return { f: 'cas', swapped: true };
        case 'put':
        case 'append':
        case 'delete':
          return { f };
        default:
          throw new HistoryParseError(lineNo, `unsupported operation :${f}`);
      }
    });
  }
  return pairing.events;
}
