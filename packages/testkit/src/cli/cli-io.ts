/** Where a command writes. Commands never call process.exit; they return the exit code. */
export interface CommandIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  /**
   * The stream behind `stderr` (process.stderr for the `synod` binary): when
   * it is a TTY, long commands draw a progress line on it and `serve` logs
   * in colour. Absent, or not a TTY, means neither.
   */
  readonly terminal?: TerminalStream;
}

/** What a command needs of a terminal stream (a subset of `tty.WriteStream`). */
export interface TerminalStream {
  readonly isTTY?: boolean;
  /** Width in characters; progress lines are cut to fit. */
  readonly columns?: number;
  write(text: string): unknown;
}

/** Exit code for bad usage (BSD sysexits EX_USAGE). */
export const EXIT_USAGE = 64;

/** A command-line usage problem; commands print its message and exit with {@link EXIT_USAGE}. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Parses a non-negative integer flag, or throws UsageError naming the flag. */
export function integerFlag(value: string | undefined, flag: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a whole number, got '${value}'`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`${flag} must be between ${min} and ${max}, got ${n}`);
  return n;
}

export { ProgressLine, formatRemaining, type ProgressLineOptions } from './progress-line.js';
