import { ProgressLine, type TerminalStream } from '@synod/testkit/cli-io';

/** The suites' default log: a line on stdout. {@link Progress} draws its live line only beside this one. */
export const stdoutLog = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** Options of {@link Progress}. */
export interface ProgressOptions {
  /**
   * Where `log` ends up, when that is a terminal: a live line under the log
   * counts the current step's seconds and the time left, redrawn every
   * second. @default none (only the log lines)
   */
  readonly terminal?: TerminalStream;
  /** The clock, in ms. @default performance.now */
  readonly now?: () => number;
  /** How often the live line is redrawn, in ms; 0 redraws only on {@link Progress.redraw}. @default 1000 */
  readonly redrawMs?: number;
}

/**
 * Progress lines for long suites: what runs now and roughly how long is
 * left, from the planned duration of every step (start-ups not counted, so
 * the estimate runs a little short). On a terminal a live line below them
 * ticks through the current step.
 */
export class Progress {
  #plannedMs: number;
  #doneMs = 0;
  #started: number | undefined;
  readonly #write: (line: string) => void;
  readonly #line: ProgressLine;
  readonly #now: () => number;
  readonly #redrawMs: number;
  #current: { readonly label: string; readonly plannedMs: number; readonly startedAt: number; readonly leftAfterMs: number } | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(plannedMs: number, write: (line: string) => void = stdoutLog, options: ProgressOptions = {}) {
    this.#plannedMs = plannedMs;
    this.#now = options.now ?? (() => performance.now());
    this.#line = new ProgressLine(options.terminal, { minIntervalMs: 0, now: this.#now });
    this.#write = this.#line.around(write);
    this.#redrawMs = options.redrawMs ?? 1000;
  }

  /** Announces a step of `plannedMs`, counted as done at the next call. */
  step(label: string, plannedMs: number): void {
    const left = Math.max(0, this.#plannedMs - this.#doneMs);
    const now = this.#now();
    this.#started ??= now;
    const elapsed = now - this.#started;
    // Scale the plan by how far behind it the run is (start-ups, slow machine).
    const pace = this.#doneMs > 0 ? Math.max(1, elapsed / this.#doneMs) : 1;
    const percent = this.#plannedMs > 0 ? Math.round((100 * this.#doneMs) / this.#plannedMs) : 0;
    this.#write(`  [${String(percent).padStart(3)}%] ${label} (about ${formatDuration(left * pace)} left)`);
    this.#doneMs += plannedMs;
    this.#current = { label, plannedMs, startedAt: now, leftAfterMs: Math.max(0, this.#plannedMs - this.#doneMs) * pace };
    this.redraw();
    if (this.#line.active && this.#redrawMs > 0 && this.#timer === undefined) {
      this.#timer = setInterval(() => this.redraw(), this.#redrawMs);
      this.#timer.unref();
    }
  }

  /** Free text between steps. */
  note(line: string): void {
    this.#write(`         ${line}`);
    this.redraw();
  }

  /** Redraws the live line (on a terminal): the current step's seconds of its plan, and the time left overall. */
  redraw(): void {
    const current = this.#current;
    if (current === undefined) return;
    const inStep = this.#now() - current.startedAt;
    const left = current.leftAfterMs + Math.max(0, current.plannedMs - inStep);
    this.#line.update(`  ${current.label}: ${formatDuration(inStep)} of ${formatDuration(current.plannedMs)}, about ${formatDuration(left)} left in all`, true);
  }

  /** Erases the live line and stops redrawing it. */
  finish(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#current = undefined;
    this.#line.clear();
  }
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds >= 60 ? `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s` : `${seconds}s`;
}
