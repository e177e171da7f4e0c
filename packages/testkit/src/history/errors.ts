import { SynodError } from '@synod/core';

/**
 * Thrown when a history file cannot be read: malformed syntax, a missing
 * field, a completion without an invoke. `line` is 1-based and is also part of
 * the message, so a command can print the message alone.
 *
 * @example
 * ```ts
 * try {
 *   parseHistoryJsonl(text, kvCodec);
 * } catch (err) {
 *   if (err instanceof HistoryParseError) console.error(err.message); // "line 3: ..."
 * }
 * ```
 */
export class HistoryParseError extends SynodError {
  readonly code = 'HISTORY_PARSE';
  /** The 1-based line the problem was found on. */
  readonly line: number;
  /** The problem without the line prefix. */
  readonly reason: string;

  constructor(line: number, reason: string, options?: { cause?: unknown }) {
    super(`line ${line}: ${reason}`, options);
    this.line = line;
    this.reason = reason;
  }
}

/**
 * Thrown when a history is used in a way that would make it wrong: completing
 * an operation twice or one that was never invoked, reusing an id, or a clock
 * that went backwards. These are bugs in the code that records, not in the
 * system under test.
 *
 * @example
 * ```ts
 * const op = recorder.invoke('c1', { f: 'get', key: 'a' });
 * recorder.ok(op, { f: 'get', value: null });
 * recorder.ok(op, { f: 'get', value: null }); // throws InvalidHistoryError
 * ```
 */
export class InvalidHistoryError extends SynodError {
  readonly code = 'INVALID_HISTORY';
}
