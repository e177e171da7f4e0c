import { HistoryParseError } from './errors.js';
import type { ClientId, History, HistoryEvent } from './types.js';

/**
 * Converts operation inputs and outputs to and from plain JSON values. A
 * decoder throws (any error; its message is kept) when a value is malformed;
 * the parser adds the line number.
 *
 * @example
 * ```ts
 * const numberCodec: HistoryCodec<number, number> = {
 *   decodeInput: (v) => { if (typeof v !== 'number') throw new TypeError('expected a number'); return v; },
 *   decodeOutput: (v) => { if (typeof v !== 'number') throw new TypeError('expected a number'); return v; },
 * };
 * ```
 */
export interface HistoryCodec<I, O> {
  decodeInput(value: unknown): I;
  decodeOutput(value: unknown): O;
  /** @default the input itself */
  encodeInput?(input: I): unknown;
  /** @default the output itself */
  encodeOutput?(output: O): unknown;
}

/** Keeps inputs and outputs as whatever JSON held. */
export const jsonCodec: HistoryCodec<unknown, unknown> = {
  decodeInput: (value) => value,
  decodeOutput: (value) => value,
};

/** The first line of a JSON-lines history file (optional when parsing). */
export interface HistoryHeader {
  readonly type: 'header';
  readonly format: 'synod-history';
  readonly version: 1;
  /** The model the history is meant for, e.g. `kv` or `register`. */
  readonly model?: string;
}

/** What {@link parseHistoryJsonl} returns. */
export interface ParsedHistory<I, O> {
  /** From the header line, if there was one and it named a model. */
  readonly model?: string;
  readonly history: History<I, O>;
}

/** Options for {@link serializeHistoryJsonl}. */
export interface SerializeOptions<I, O> {
  readonly codec?: HistoryCodec<I, O> | undefined;
  /** Written into the header line. */
  readonly model?: string | undefined;
}

/**
 * Writes a history as JSON lines: a header line, then one event per line, in
 * history order. The text ends with a newline.
 *
 * ```text
 * {"type":"header","format":"synod-history","version":1,"model":"kv"}
 * {"type":"invoke","id":0,"client":"c1","time":5,"input":{"f":"put","key":"a","value":"1"}}
 * {"type":"ok","id":0,"client":"c1","time":9,"output":{"f":"put"}}
 * {"type":"info","id":1,"client":"c2","time":12,"error":"timeout"}
 * ```
 *
 * @example
 * ```ts
 * await writeFile('history.jsonl', serializeHistoryJsonl(recorder.history(), { model: 'kv' }));
 * ```
 */
export function serializeHistoryJsonl<I, O>(history: History<I, O>, options: SerializeOptions<I, O> = {}): string {
  const { codec, model } = options;
  const header: HistoryHeader =
    model === undefined
      ? { type: 'header', format: 'synod-history', version: 1 }
      : { type: 'header', format: 'synod-history', version: 1, model };
  const lines = [JSON.stringify(header)];
  for (const event of history) {
    switch (event.type) {
      case 'invoke': {
        const input = codec?.encodeInput ? codec.encodeInput(event.input) : event.input;
        lines.push(JSON.stringify({ type: 'invoke', id: event.id, client: event.client, time: event.time, input }));
        break;
      }
      case 'ok': {
        const output = codec?.encodeOutput ? codec.encodeOutput(event.output) : event.output;
        lines.push(JSON.stringify({ type: 'ok', id: event.id, client: event.client, time: event.time, output }));
        break;
      }
      default:
        lines.push(JSON.stringify(event));
    }
  }
  return `${lines.join('\n')}\n`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Reads a JSON-lines history (see {@link serializeHistoryJsonl}). Blank lines
 * are skipped; the header line is optional. Besides the syntax, it checks what
 * the checker relies on: ids are unique, every completion follows its invoke
 * from the same client, nothing completes twice, and timestamps never
 * decrease.
 *
 * @throws {@link HistoryParseError} naming the 1-based line of the first problem.
 *
 * @example
 * ```ts
 * const { history } = parseHistoryJsonl(await readFile('h.jsonl', 'utf8'), kvCodec);
 * ```
 */
export function parseHistoryJsonl<I, O>(text: string, codec: HistoryCodec<I, O>): ParsedHistory<I, O> {
  const events: HistoryEvent<I, O>[] = [];
  const clients = new Map<number, ClientId>();
  const completed = new Set<number>();
  let model: string | undefined;
  let lastTime = Number.NEGATIVE_INFINITY;
  let sawContent = false;

  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = (lines[i] ?? '').trim();
    if (raw === '') continue;
    const fail = (reason: string, cause?: unknown): never => {
      throw new HistoryParseError(lineNo, reason, cause === undefined ? undefined : { cause });
    };
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      fail(`not valid JSON (${describeError(err)})`, err);
    }
    if (!isRecord(value)) fail('expected a JSON object');
    const obj = value as Record<string, unknown>;
    const type = obj['type'];

    if (type === 'header') {
      if (sawContent) fail('the header must be the first line');
      if (obj['format'] !== 'synod-history') fail(`unknown format ${JSON.stringify(obj['format'])}; expected "synod-history"`);
      if (obj['version'] !== 1) fail(`unsupported version ${JSON.stringify(obj['version'])}; expected 1`);
      const m = obj['model'];
      if (m !== undefined && typeof m !== 'string') fail('"model" must be a string');
      model = m as string | undefined;
      sawContent = true;
      continue;
    }
    sawContent = true;
    if (type !== 'invoke' && type !== 'ok' && type !== 'fail' && type !== 'info') {
      fail(`"type" must be "invoke", "ok", "fail" or "info", not ${JSON.stringify(type)}`);
    }
    const id = obj['id'];
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) fail('"id" must be a non-negative integer');
    const client = obj['client'];
    if (typeof client !== 'string' && typeof client !== 'number') fail('"client" must be a string or a number');
    const time = obj['time'];
    if (typeof time !== 'number' || !Number.isFinite(time)) fail('"time" must be a finite number');
    const opId = id as number;
    const clientId = client as ClientId;
    const t = time as number;
    if (t < lastTime) fail(`time ${t} is lower than the previous event's ${lastTime}`);
    lastTime = t;

    if (type === 'invoke') {
      if (clients.has(opId)) fail(`operation ${opId} is invoked twice`);
      if (!('input' in obj)) fail('an invoke needs an "input"');
      let input: I;
      try {
        input = codec.decodeInput(obj['input']);
      } catch (err) {
        return fail(`bad input: ${describeError(err)}`, err);
      }
      clients.set(opId, clientId);
      events.push({ type: 'invoke', id: opId, client: clientId, time: t, input });
      continue;
    }

    const invokedBy = clients.get(opId);
    if (invokedBy === undefined) fail(`${String(type)} for operation ${opId}, which was never invoked`);
    if (completed.has(opId)) fail(`operation ${opId} completes a second time`);
    if (invokedBy !== clientId) {
      fail(`operation ${opId} was invoked by client ${String(invokedBy)} but completed by ${String(clientId)}`);
    }
    completed.add(opId);
    if (type === 'ok') {
      if (!('output' in obj)) fail('an ok needs an "output"');
      let output: O;
      try {
        output = codec.decodeOutput(obj['output']);
      } catch (err) {
        return fail(`bad output: ${describeError(err)}`, err);
      }
      events.push({ type: 'ok', id: opId, client: clientId, time: t, output });
    } else {
      const error = obj['error'];
      if (error !== undefined && typeof error !== 'string') fail('"error" must be a string');
      const kind = type as 'fail' | 'info';
      events.push(
        error === undefined
          ? { type: kind, id: opId, client: clientId, time: t }
          : { type: kind, id: opId, client: clientId, time: t, error: error as string },
      );
    }
  }
  return model === undefined ? { history: events } : { model, history: events };
}
