import { HistoryParseError } from './errors.js';
import type { ClientId, HistoryEvent } from './types.js';

/**
 * Jepsen-style logs have no operation ids: a completion belongs to the one
 * operation its process has in flight. This pairs them, assigns ids, and uses
 * the event's position as its timestamp (the logs carry no usable clock, and
 * their line order is the real-time order).
 */
export class ProcessPairing<I, O> {
  readonly events: HistoryEvent<I, O>[] = [];
  readonly #inFlight = new Map<ClientId, { id: number; f: string; line: number }>();
  #nextId = 0;

  invoke(line: number, process: ClientId, f: string, input: I): void {
    const pending = this.#inFlight.get(process);
    if (pending !== undefined) {
      throw new HistoryParseError(
        line,
        `process ${String(process)} invokes :${f} while its :${pending.f} from line ${pending.line} is still in flight`,
      );
    }
    const id = this.#nextId++;
    this.#inFlight.set(process, { id, f, line });
    this.events.push({ type: 'invoke', id, client: process, time: this.events.length, input });
  }

  /** `output` is called only for `ok`; `error` is kept only for `fail` and `info`. */
  complete(
    line: number,
    process: ClientId,
    type: 'ok' | 'fail' | 'info',
    f: string,
    error: string | undefined,
    output: () => O,
  ): void {
    const pending = this.#inFlight.get(process);
    if (pending === undefined) {
      throw new HistoryParseError(line, `:${type} from process ${String(process)}, which has no operation in flight`);
    }
    if (pending.f !== f) {
      throw new HistoryParseError(line, `:${type} :${f} does not match the :${pending.f} invoked on line ${pending.line}`);
    }
    // After :info the process is free again. Jepsen itself retires such a
    // process id, but accepting a new invoke is harmless: the old operation
    // stays open until the end either way.
    this.#inFlight.delete(process);
    const base = { id: pending.id, client: process, time: this.events.length };
    if (type === 'ok') this.events.push({ ...base, type, output: output() });
    else this.events.push(error === undefined ? { ...base, type } : { ...base, type, error });
  }
}
