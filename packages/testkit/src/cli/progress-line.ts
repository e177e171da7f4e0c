import type { TerminalStream } from './cli-io.js';

/** Options of {@link ProgressLine}. */
export interface ProgressLineOptions {
  /** Fewest milliseconds between two redraws; updates in between are skipped. @default 100 */
  readonly minIntervalMs?: number;
  /** The clock for that interval, in ms. @default performance.now */
  readonly now?: () => number;
}

/**
 * One line of live progress at the bottom of a terminal (`12/100 seeds, 0
 * violations, about 34 s left`), redrawn in place with a carriage return.
 * When the stream is absent or not a TTY it writes nothing at all, so logs,
 * pipes and CI output keep only the command's real lines.
 *
 * Call {@link ProgressLine.clear} before printing a normal line on the same
 * terminal (stdout or stderr), or let {@link ProgressLine.around} do it.
 *
 * @example
 * ```ts
 * const progress = new ProgressLine(io.terminal);
 * for (let seed = 1; seed <= 100; seed++) {
 *   progress.update(`${seed - 1}/100 seeds`);
 *   await runSeed(seed);
 * }
 * progress.clear();
 * ```
 */
export class ProgressLine {
  readonly #stream: TerminalStream | undefined;
  readonly #minIntervalMs: number;
  readonly #now: () => number;
  #shown = false;
  #lastDrawAt = Number.NEGATIVE_INFINITY;

  constructor(stream: TerminalStream | undefined, options: ProgressLineOptions = {}) {
    this.#stream = stream?.isTTY === true ? stream : undefined;
    this.#minIntervalMs = options.minIntervalMs ?? 100;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Whether anything is drawn at all (the stream is a TTY). */
  get active(): boolean {
    return this.#stream !== undefined;
  }

  /** Redraws the line with `text`, cut to the terminal's width; at most once per `minIntervalMs` unless `force`. */
  update(text: string, force = false): void {
    const stream = this.#stream;
    if (stream === undefined) return;
    const now = this.#now();
    if (!force && now - this.#lastDrawAt < this.#minIntervalMs) return;
    this.#lastDrawAt = now;
    const width = Math.max(10, (stream.columns ?? 80) - 1);
    const shown = text.length > width ? `${text.slice(0, width - 1)}…` : text;
    // \r goes to the start of the line, ESC[2K erases it: the new text never leaves a tail of the old.
    stream.write(`\r\x1b[2K${shown}`);
    this.#shown = true;
  }

  /** Erases the line (before a normal line is printed, and at the end). */
  clear(): void {
    if (this.#stream === undefined || !this.#shown) return;
    this.#stream.write('\r\x1b[2K');
    this.#shown = false;
    // The next update draws at once: the line was just erased.
    this.#lastDrawAt = Number.NEGATIVE_INFINITY;
  }

  /** `write` wrapped so that the progress line is erased first. */
  around(write: (line: string) => void): (line: string) => void {
    return (line) => {
      this.clear();
      write(line);
    };
  }
}

/** `83 s` → `1m23s`, `7.4 s` → `7s`: a short, rounded duration for progress lines. */
export function formatRemaining(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return seconds >= 60 ? `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s` : `${seconds}s`;
}
