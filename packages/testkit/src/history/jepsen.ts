import { EdnKeyword, readEdn, type EdnValue } from './edn.js';
import { HistoryParseError } from './errors.js';
import { ProcessPairing } from './process-pairing.js';
import type { RegisterInput, RegisterOutput, RegisterValue } from './register-ops.js';
import type { History } from './types.js';

// `INFO  jepsen.util - 3	:invoke	:write	4`: the logger prefix is optional so
// that bare `3 :invoke :write 4` lines (as printed by other tools) also read.
const OP_LINE = /^(?:\S+\s+([\w.$-]+)\s+-\s+)?(\S+)\s+:(invoke|ok|fail|info)\s+:([\w-]+)(?:\s+(.*?))?\s*$/;

function registerValue(value: EdnValue, line: number, what: string): RegisterValue {
  if (value === null || typeof value === 'number' || typeof value === 'string') return value;
  throw new HistoryParseError(line, `${what} must be a number, a string or nil`);
}

function casPair(value: EdnValue, line: number): readonly [RegisterValue, RegisterValue] {
  if (!Array.isArray(value) || value.length !== 2) {
    throw new HistoryParseError(line, ':cas needs a value like [old new]');
  }
  const pair = value as readonly EdnValue[];
  return [registerValue(pair[0] ?? null, line, 'the expected value'), registerValue(pair[1] ?? null, line, 'the new value')];
}

/**
 * Reads a Jepsen cas-register log (as in the etcd histories Porcupine ships)
 * into a register history. Each line is one event:
 *
 * ```text
 * INFO  jepsen.util - 3	:invoke	:cas	[3 0]
 * INFO  jepsen.util - 3	:fail	:cas	[3 0]
 * ```
 *
 * The process number is the client. `:read`, `:write` and `:cas [old new]`
 * are supported; `:fail` means the operation did not happen, `:info` that its
 * outcome is unknown. Lines from other loggers and from the `:nemesis`
 * process are skipped; blank lines too. Timestamps are event positions.
 *
 * @throws {@link HistoryParseError} naming the line of the first problem.
 *
 * @example
 * ```ts
 * const history = parseJepsenHistory(await readFile('etcd_000.log', 'utf8'));
 * const result = checkLinearizability(registerModel, history);
 * ```
 */
export function parseJepsenHistory(text: string): History<RegisterInput, RegisterOutput> {
  const pairing = new ProcessPairing<RegisterInput, RegisterOutput>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = (lines[i] ?? '').trim();
    if (raw === '') continue;
    const m = OP_LINE.exec(raw);
    if (m === null) {
      // Jepsen interleaves other log output; only the history logger matters.
      if (/^\S+\s+[\w.$-]+\s+-\s/.test(raw) && !/\bjepsen\.util\b/.test(raw)) continue;
      throw new HistoryParseError(lineNo, `not a Jepsen history line: ${JSON.stringify(raw.slice(0, 80))}`);
    }
    const [, logger, processText = '', type = '', f = '', valueText = 'nil'] = m;
    if (logger !== undefined && logger !== 'jepsen.util') continue;
    if (processText === ':nemesis') continue;
    if (!/^\d+$/.test(processText)) throw new HistoryParseError(lineNo, `process ${JSON.stringify(processText)} is not a number`);
    const process = Number(processText);
    let value: EdnValue;
    try {
      value = readEdn(valueText === '' ? 'nil' : valueText);
    } catch (err) {
      throw new HistoryParseError(lineNo, `bad value ${JSON.stringify(valueText)}: ${(err as Error).message}`, { cause: err });
    }
    // A keyword only makes sense as the reason of a :fail or :info (Jepsen
    // logs `:info :write :timed-out`); an invoke or :ok needs a real value.
    const keywordReason = value instanceof EdnKeyword ? value.toString() : undefined;
    if (keywordReason !== undefined && (type === 'invoke' || type === 'ok')) {
      throw new HistoryParseError(lineNo, `unexpected keyword ${keywordReason} as a value`);
    }

    if (type === 'invoke') {
      let input: RegisterInput;
      switch (f) {
        case 'read':
          input = { f: 'read' };
          break;
        case 'write':
          input = { f: 'write', value: registerValue(value, lineNo, 'the written value') };
          break;
        case 'cas': {
          const [expected, next] = casPair(value, lineNo);
          input = { f: 'cas', expected, value: next };
          break;
        }
        default:
          throw new HistoryParseError(lineNo, `unsupported operation :${f}; expected :read, :write or :cas`);
      }
      pairing.invoke(lineNo, process, f, input);
      continue;
    }
    pairing.complete(lineNo, process, type as 'ok' | 'fail' | 'info', f, keywordReason, (): RegisterOutput => {
      switch (f) {
        case 'read':
          return { f: 'read', value: registerValue(value as EdnValue, lineNo, 'the value read') };
        case 'write':
          return { f: 'write' };
        default:
          // An :ok :cas swapped; a CAS that did not match is logged as :fail.
          return { f: 'cas', swapped: true };
      }
    });
  }
  return pairing.events;
}
