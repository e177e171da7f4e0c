/**
 * Progress lines for long suites: what runs now and roughly how long is
 * left, from the planned duration of every step (start-ups not counted, so
 * the estimate runs a little short).
 */
export class Progress {
  #plannedMs: number;
  #doneMs = 0;
  #started: number | undefined;

  constructor(
    plannedMs: number,
    private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  ) {
    this.#plannedMs = plannedMs;
  }

  /** Announces a step of `plannedMs`, counted as done at the next call. */
  step(label: string, plannedMs: number): void {
    const left = Math.max(0, this.#plannedMs - this.#doneMs);
    this.#started ??= performance.now();
    const elapsed = performance.now() - this.#started;
    // Scale the plan by how far behind it the run is (start-ups, slow machine).
    const pace = this.#doneMs > 0 ? Math.max(1, elapsed / this.#doneMs) : 1;
    const percent = this.#plannedMs > 0 ? Math.round((100 * this.#doneMs) / this.#plannedMs) : 0;
    this.write(`  [${String(percent).padStart(3)}%] ${label} (about ${formatDuration(left * pace)} left)`);
    this.#doneMs += plannedMs;
  }

  /** Free text between steps. */
  note(line: string): void {
    this.write(`         ${line}`);
  }
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds >= 60 ? `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s` : `${seconds}s`;
}
