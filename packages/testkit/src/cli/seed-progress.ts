import type { CommandIo } from './cli-io.js';
import { formatRemaining, ProgressLine, type ProgressLineOptions } from './progress-line.js';

/**
 * The live line of `synod sim` on a terminal: seeds done, violations so far
 * and the time left at the pace so far. Quiet when `io.terminal` is not a
 * TTY. Its `io` erases the line before each report line, so a violation
 * found mid-run prints cleanly above it.
 *
 * @example
 * ```ts
 * const progress = new SeedProgress(io, 'raft', 100);
 * for (…) { …; progress.seedDone(violations); }
 * progress.finish();
 * ```
 */
export class SeedProgress {
  readonly io: CommandIo;
  readonly #line: ProgressLine;
  readonly #now: () => number;
  readonly #started: number;
  #done = 0;

  constructor(
    io: CommandIo,
    readonly label: string,
    readonly total: number,
    options: ProgressLineOptions = {},
  ) {
    this.#now = options.now ?? (() => performance.now());
    this.#line = new ProgressLine(io.terminal, { ...options, now: this.#now });
    this.#started = this.#now();
    this.io = { ...io, stdout: this.#line.around(io.stdout), stderr: this.#line.around(io.stderr) };
    this.#line.update(this.#text(0), true);
  }

  /** One more seed finished; `violations` is the count so far. */
  seedDone(violations: number): void {
    this.#done++;
    this.#line.update(this.#text(violations), this.#done === this.total);
  }

  /** Erases the line before the summary. */
  finish(): void {
    this.#line.clear();
  }

  #text(violations: number): string {
    const elapsed = this.#now() - this.#started;
    const left = this.#done === 0 ? 'estimating time left' : `about ${formatRemaining((elapsed / this.#done) * (this.total - this.#done))} left`;
    return `sim ${this.label}: ${this.#done}/${this.total} seeds, ${violations} violation${violations === 1 ? '' : 's'} so far, ${formatRemaining(elapsed)} elapsed, ${left}`;
  }
}
