import { readFile as fsReadFile, writeFile as fsWriteFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseEdnKvHistory } from '../history/edn-kv.js';
import { HistoryParseError, InvalidHistoryError } from '../history/errors.js';
import { parseJepsenHistory } from '../history/jepsen.js';
import { parseHistoryJsonl, type HistoryCodec } from '../history/jsonl.js';
import { kvCodec } from '../history/kv-ops.js';
import { registerCodec } from '../history/register-ops.js';
import type { History } from '../history/types.js';
import { checkLinearizability, type CheckResult, type UndecidedReason, type Verdict } from '../linearizability/checker.js';
import { counterCodec, counterModel } from '../linearizability/counter-model.js';
import { kvModel, porcupineKvModel } from '../linearizability/kv-model.js';
import { defaultMemoryBudgetBytes, formatBytes, parseByteSize } from '../linearizability/memory-budget.js';
import { UNKNOWN_OUTPUT, type Model } from '../linearizability/model.js';
import { registerModel } from '../linearizability/register-model.js';
import { describeUndecided } from '../linearizability/undecided.js';
import { renderHtmlReport } from '../report/html-report.js';

/**
 * Exit codes of `synod check-history`: 0, 1, 2 give the verdict; the others
 * follow BSD sysexits so scripts can tell a bad invocation from a bad file.
 */
export const CHECK_HISTORY_EXIT = {
  linearizable: 0,
  notLinearizable: 1,
  unknown: 2,
  /** Bad flags or arguments (EX_USAGE). */
  usage: 64,
  /** The file was read but is not a valid history (EX_DATAERR). */
  dataError: 65,
  /** The file could not be read (EX_NOINPUT). */
  noInput: 66,
  /** A bug in the checker (EX_SOFTWARE). */
  software: 70,
  /** The report could not be written (EX_CANTCREAT). */
  cantCreate: 73,
} as const;

/** Where `check-history` reads and writes. Defaults use the real file system. */
export interface CheckHistoryIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  /** @default `fs.promises.readFile(path, 'utf8')` */
  readonly readFile?: (path: string) => Promise<string>;
  /** @default `fs.promises.writeFile(path, data)` */
  readonly writeFile?: (path: string, data: string) => Promise<void>;
  /** Clock for the time budget. @default `performance.now` */
  readonly now?: () => number;
}

/** The history formats `check-history` reads. */
export type HistoryFormat = 'jsonl' | 'jepsen' | 'edn-kv';

/** The models `check-history` offers. */
export type CheckHistoryModelName = 'kv' | 'register' | 'counter';

const FORMATS: readonly HistoryFormat[] = ['jsonl', 'jepsen', 'edn-kv'];
const MODELS: readonly CheckHistoryModelName[] = ['kv', 'register', 'counter'];

const USAGE = `usage: synod check-history FILE [--model kv|register|counter] [--format jsonl|jepsen|edn-kv] [--report out.html] [--timeout SECONDS] [--max-memory SIZE] [--all-partitions]

Checks whether a client history is linearizable. The last line printed is
"linearizable", "not linearizable" or "unknown" (the time limit or the memory
budget ran out; the line before it says which, and how far the check got),
and the exit code is 0, 1 or 2 to match.

  --model           the sequential specification (default: from the format;
                    jsonl files may name it in their header, else kv)
  --format          jsonl (synod), jepsen (cas-register logs), edn-kv
                    (Porcupine kv logs); guessed from the content by default
  --report FILE     write a self-contained HTML report
  --timeout S       give up after S seconds (default: no limit)
  --max-memory SIZE memory budget, e.g. 512MiB or 2GiB (default: a quarter of
                    the machine's memory, at most half of Node's heap limit:
                    ${formatBytes(defaultMemoryBudgetBytes())} here)
  --all-partitions  keep checking other keys after one fails`;

class UsageProblem extends Error {}

interface Parsed {
  readonly file: string;
  readonly model?: CheckHistoryModelName;
  readonly format?: HistoryFormat;
  readonly report?: string;
  readonly timeoutMs?: number;
  readonly maxMemoryBytes?: number;
  readonly allPartitions: boolean;
  readonly help: boolean;
}

function parseArgs(argv: readonly string[]): Parsed {
  const positional: string[] = [];
  let model: CheckHistoryModelName | undefined;
  let format: HistoryFormat | undefined;
  let report: string | undefined;
  let timeoutMs: number | undefined;
  let maxMemoryBytes: number | undefined;
  let allPartitions = false;
  let help = false;
  let onlyFiles = false;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (onlyFiles || !arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    if (arg === '--') {
      onlyFiles = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const takeValue = (): string => {
      if (eq !== -1) return arg.slice(eq + 1);
      const v = argv[i + 1];
      if (v === undefined || (v.startsWith('--') && v.length > 2)) throw new UsageProblem(`${name} needs a value`);
      i++;
      return v;
    };
    switch (name) {
      case '-h':
      case '--help':
        help = true;
        break;
      case '--all-partitions':
        allPartitions = true;
        break;
      case '--model': {
        const v = takeValue();
        if (!(MODELS as readonly string[]).includes(v)) throw new UsageProblem(`--model must be one of ${MODELS.join(', ')}, got '${v}'`);
        model = v as CheckHistoryModelName;
        break;
      }
      case '--format': {
        const v = takeValue();
        if (!(FORMATS as readonly string[]).includes(v)) {
          throw new UsageProblem(`--format must be one of ${FORMATS.join(', ')}, got '${v}'`);
        }
        format = v as HistoryFormat;
        break;
      }
      case '--report': {
        const v = takeValue();
        if (v === '') throw new UsageProblem('--report needs a file name');
        report = v;
        break;
      }
      case '--timeout': {
        const v = takeValue();
        const seconds = Number(v);
        if (v.trim() === '' || !Number.isFinite(seconds) || seconds <= 0) {
          throw new UsageProblem(`--timeout must be a positive number of seconds, got '${v}'`);
        }
        timeoutMs = seconds * 1000;
        break;
      }
      case '--max-memory': {
        const v = takeValue();
        const bytes = parseByteSize(v);
        if (bytes === undefined) throw new UsageProblem(`--max-memory must be a size such as 512MiB or 2GiB, got '${v}'`);
        maxMemoryBytes = bytes;
        break;
      }
      default:
        throw new UsageProblem(`unknown option '${name}'`);
    }
  }
  if (help) return { file: '', allPartitions, help };
  if (positional.length === 0) throw new UsageProblem('missing FILE');
  if (positional.length > 1) throw new UsageProblem(`expected one FILE, got ${positional.length}: ${positional.join(' ')}`);
  return {
    file: positional[0] as string,
    ...(model === undefined ? {} : { model }),
    ...(format === undefined ? {} : { format }),
    ...(report === undefined ? {} : { report }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(maxMemoryBytes === undefined ? {} : { maxMemoryBytes }),
    allPartitions,
    help,
  };
}

/**
 * Guesses a history's format from its first non-blank line, then from the
 * file extension.
 *
 * @example
 * ```ts
 * detectHistoryFormat('h.txt', '{:process 0, :type :invoke, :f :get, :key "1", :value nil}'); // 'edn-kv'
 * ```
 */
export function detectHistoryFormat(path: string, text: string): HistoryFormat | undefined {
  const first = text.split('\n').find((line) => line.trim() !== '')?.trim() ?? '';
  if (/^\{\s*"/.test(first)) return 'jsonl';
  if (/^\{\s*:/.test(first)) return 'edn-kv';
  if (/^(\S+\s+jepsen\.util\s+-\s+)?\d+\s+:(invoke|ok|fail|info)\s+:/.test(first)) return 'jepsen';
  switch (extname(path).toLowerCase()) {
    case '.jsonl':
    case '.ndjson':
      return 'jsonl';
    case '.log':
      return 'jepsen';
    case '.edn':
      return 'edn-kv';
    default:
      return undefined;
  }
}

/** A model and a history for it, with their types tied together. */
interface Loaded<S, I, O> {
  readonly model: Model<S, I, O>;
  readonly history: History<I, O>;
}

/** Receives the loaded model and history; generic so their types stay tied together. */
type UseLoaded<R> = <S, I, O>(loaded: Loaded<S, I, O>) => R;

function load<R>(format: HistoryFormat, requested: CheckHistoryModelName | undefined, text: string, use: UseLoaded<R>): R {
  if (format === 'jepsen') {
    if (requested !== undefined && requested !== 'register') {
      throw new UsageProblem(`jepsen histories are cas-register histories; use --model register, not ${requested}`);
    }
    return use({ model: registerModel, history: parseJepsenHistory(text) });
  }
  if (format === 'edn-kv') {
    if (requested !== undefined && requested !== 'kv') {
      throw new UsageProblem(`edn-kv histories are key-value histories; use --model kv, not ${requested}`);
    }
    return use({ model: porcupineKvModel, history: parseEdnKvHistory(text) });
  }
  // JSON lines: the header may name the model. Peek at it with a codec that
  // accepts anything, then parse for real with the chosen model's codec.
  const named = parseHistoryJsonl(text.slice(0, text.indexOf('\n') === -1 ? text.length : text.indexOf('\n')), {
    decodeInput: (v: unknown) => v,
    decodeOutput: (v: unknown) => v,
  } satisfies HistoryCodec<unknown, unknown>).model;
  const name = requested ?? named ?? 'kv';
  switch (name) {
    case 'kv':
      return use({ model: kvModel, history: parseHistoryJsonl(text, kvCodec).history });
    case 'register':
      return use({ model: registerModel, history: parseHistoryJsonl(text, registerCodec).history });
    case 'counter':
      return use({ model: counterModel, history: parseHistoryJsonl(text, counterCodec).history });
    default:
      throw new UsageProblem(`the history's header names model '${name}', which this command does not know; pass --model`);
  }
}

const VERDICT_LINE: Record<Verdict, string> = {
  linearizable: 'linearizable',
  'not-linearizable': 'not linearizable',
  unknown: 'unknown',
};

const VERDICT_EXIT: Record<Verdict, number> = {
  linearizable: CHECK_HISTORY_EXIT.linearizable,
  'not-linearizable': CHECK_HISTORY_EXIT.notLinearizable,
  unknown: CHECK_HISTORY_EXIT.unknown,
};

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** At most this many per-key lines; the HTML report has the rest. */
const MAX_KEY_LINES = 20;

function summarize<S, I, O>(model: Model<S, I, O>, result: CheckResult<I, O>, print: (line: string) => void): void {
  const count = (v: Verdict): number => result.partitions.filter((p) => p.verdict === v).length;
  const ops = result.partitions.reduce((n, p) => n + p.operations.length + p.removed, 0);
  print(
    `checked ${ops} operations in ${result.partitions.length} partition(s) with model ${result.model} in ${result.elapsedMs.toFixed(0)} ms: ` +
      `${count('linearizable')} linearizable, ${count('not-linearizable')} not linearizable, ${count('unknown')} unknown`,
  );
  const notable = result.partitions.filter((p) => p.verdict !== 'linearizable');
  for (const p of notable.slice(0, MAX_KEY_LINES)) {
    const key = p.key === '' ? 'history' : `key ${JSON.stringify(p.key)}`;
    if (p.verdict === 'unknown') {
      print(
        `${key}: unknown (${p.undecided ?? 'undecided'}) after ${p.explored} configurations; ` +
          `longest linearizable prefix ${p.longestPrefix.length} of ${p.operations.length} operations`,
      );
      continue;
    }
    const op = p.operations.find((o) => o.id === p.failure?.opId);
    const described = op === undefined ? '' : model.describeOperation(op.input, op.status === 'ok' ? (op.output as O) : UNKNOWN_OUTPUT);
    const what = op === undefined ? '' : ` (client ${String(op.client)}: ${oneLine(described)})`;
    print(
      `${key}: not linearizable at op ${p.failure?.opId ?? '?'}${what}; longest linearizable prefix ${p.longestPrefix.length} of ${p.operations.length} operations`,
    );
  }
  if (notable.length > MAX_KEY_LINES) print(`... and ${notable.length - MAX_KEY_LINES} more partition(s) not shown`);
}

/** Which flag lifts the limit that stopped the check. */
function raiseHint(result: CheckResult<unknown, unknown>): string {
  const stoppedBy = (reason: UndecidedReason): boolean => result.partitions.some((p) => p.undecided === reason);
  const flags = [...(stoppedBy('memory-budget') ? ['--max-memory'] : []), ...(stoppedBy('timeout') ? ['--timeout'] : [])];
  return flags.length === 0 ? '' : `; raise ${flags.join(' or ')}`;
}

function errorText(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
  }
  return String(err);
}

/**
 * `synod check-history FILE [--model kv|register|counter] [--format
 * jsonl|jepsen|edn-kv] [--report out.html] [--timeout S] [--max-memory SIZE]
 * [--all-partitions]`.
 *
 * `argv` holds the arguments after the command name. The last line on stdout
 * is `linearizable`, `not linearizable` or `unknown`, and the promise
 * resolves to 0, 1 or 2 to match. Problems print one line on stderr and
 * resolve to a sysexits code (see {@link CHECK_HISTORY_EXIT}): 64 bad usage,
 * 65 malformed history, 66 unreadable file, 73 report not written. It never
 * throws and never calls `process.exit`.
 *
 * @example
 * ```ts
 * const code = await runCheckHistory(process.argv.slice(3), {
 *   stdout: (s) => console.log(s),
 *   stderr: (s) => console.error(s),
 * });
 * process.exitCode = code;
 * ```
 */
export async function runCheckHistory(argv: readonly string[], io: CheckHistoryIo): Promise<number> {
  const fail = (code: number, message: string): number => {
    io.stderr(`check-history: ${message}`);
    return code;
  };
  try {
    let args: Parsed;
    try {
      args = parseArgs(argv);
    } catch (err) {
      if (err instanceof UsageProblem) {
        io.stderr(`check-history: ${err.message}`);
        io.stderr(USAGE.split('\n')[0] as string);
        return CHECK_HISTORY_EXIT.usage;
      }
      throw err;
    }
    if (args.help) {
      for (const line of USAGE.split('\n')) io.stdout(line);
      return 0;
    }

    let text: string;
    try {
      text = await (io.readFile ?? ((p: string) => fsReadFile(p, 'utf8')))(args.file);
    } catch (err) {
      return fail(CHECK_HISTORY_EXIT.noInput, `cannot read ${args.file}: ${errorText(err)}`);
    }

    const format = args.format ?? detectHistoryFormat(args.file, text);
    if (format === undefined) {
      return fail(CHECK_HISTORY_EXIT.dataError, `cannot tell the format of ${args.file}; pass --format jsonl|jepsen|edn-kv`);
    }

    const options = {
      ...(args.timeoutMs === undefined ? {} : { timeoutMs: args.timeoutMs }),
      ...(args.maxMemoryBytes === undefined ? {} : { maxMemoryBytes: args.maxMemoryBytes }),
      ...(io.now === undefined ? {} : { now: io.now }),
      checkAllPartitions: args.allPartitions,
    };
    interface Outcome {
      readonly verdict: Verdict;
      readonly report: () => string;
      readonly print: () => void;
      /** Why the verdict is unknown, when it is. */
      readonly undecided: string | undefined;
    }
    let outcome: Outcome;
    try {
      outcome = load(format, args.model, text, (l): Outcome => {
        const result = checkLinearizability(l.model, l.history, options);
        return {
          verdict: result.verdict,
          report: () => renderHtmlReport(l.model, result, { title: `check-history ${args.file}` }),
          print: () => summarize(l.model, result, io.stdout),
          undecided: result.verdict === 'unknown' ? `${describeUndecided(result) ?? 'unknown'}${raiseHint(result)}` : undefined,
        };
      });
    } catch (err) {
      if (err instanceof UsageProblem) return fail(CHECK_HISTORY_EXIT.usage, err.message);
      if (err instanceof HistoryParseError) return fail(CHECK_HISTORY_EXIT.dataError, `${args.file}:${err.line}: ${err.reason}`);
      if (err instanceof InvalidHistoryError) return fail(CHECK_HISTORY_EXIT.dataError, `${args.file}: ${err.message}`);
      throw err;
    }

    io.stdout(`history ${args.file}: format ${format}`);
    outcome.print();
    if (args.report !== undefined) {
      try {
        await (io.writeFile ?? ((p: string, d: string) => fsWriteFile(p, d)))(args.report, outcome.report());
      } catch (err) {
        return fail(CHECK_HISTORY_EXIT.cantCreate, `cannot write report ${args.report}: ${errorText(err)}`);
      }
      io.stdout(`report written to ${args.report}`);
    }
    // The line before the verdict says which limit stopped an unknown check.
    if (outcome.undecided !== undefined) io.stdout(outcome.undecided);
    io.stdout(VERDICT_LINE[outcome.verdict]);
    return VERDICT_EXIT[outcome.verdict];
  } catch (err) {
    // A bug, not a user mistake; still one line, no stack trace.
    return fail(CHECK_HISTORY_EXIT.software, `internal error: ${errorText(err)}`);
  }
}
