import { ProgressLine, type CommandIo, type ProgressLineOptions } from '@synod/testkit/cli-io';

/**
 * How a cluster of `serve` processes comes up, read from their output: who
 * serves (their `… serving cluster` line) and who won the first election
 * (their `became leader` log record, JSON or pretty). On a terminal a live
 * line shows it (`starting 3 nodes: 2/3 serving, no leader yet, 1.4s`);
 * once every node serves and one leads, one `ready` line is printed on
 * stdout, terminal or not.
 *
 * @example
 * ```ts
 * const startup = new StartupProgress(io, ['n1', 'n2', 'n3'], 'synod cluster');
 * child.stdout.on('line', (line) => startup.observe('n1', line));
 * ```
 */
export class StartupProgress {
  /** `io` whose lines erase the progress line first. */
  readonly io: CommandIo;
  readonly #line: ProgressLine;
  readonly #now: () => number;
  readonly #started: number;
  readonly #serving = new Set<string>();
  #leader: { readonly id: string; readonly term: number | undefined } | undefined;
  #ready = false;

  constructor(
    io: CommandIo,
    readonly ids: readonly string[],
    readonly prefix: string,
    options: ProgressLineOptions = {},
  ) {
    this.#now = options.now ?? (() => performance.now());
    this.#line = new ProgressLine(io.terminal, { ...options, now: this.#now });
    this.#started = this.#now();
    this.io = { ...io, stdout: this.#line.around(io.stdout), stderr: this.#line.around(io.stderr) };
    this.#draw(true);
  }

  /** Whether every node serves and a leader is known. */
  get ready(): boolean {
    return this.#ready;
  }

  /** Reads one output line of node `id` (print it through {@link StartupProgress.io} first: the line is redrawn below it). */
  observe(id: string, line: string): void {
    if (this.#ready) return;
    if (line.includes(`${id} serving cluster`)) this.#serving.add(id);
    if (line.includes('became leader')) this.#leader = { id, term: termOf(line) };
    if (this.#serving.size === this.ids.length && this.#leader !== undefined) {
      this.#ready = true;
      const seconds = ((this.#now() - this.#started) / 1000).toFixed(1);
      const term = this.#leader.term === undefined ? '' : ` (term ${this.#leader.term})`;
      this.io.stdout(`${this.prefix}: ready: ${this.ids.length}/${this.ids.length} nodes serving, leader ${this.#leader.id}${term}, after ${seconds} s`);
      return;
    }
    this.#draw(true);
  }

  /** Erases the progress line (when start-up is given up). */
  finish(): void {
    this.#line.clear();
  }

  #draw(force: boolean): void {
    const seconds = ((this.#now() - this.#started) / 1000).toFixed(1);
    const leader = this.#leader === undefined ? 'no leader yet' : `leader ${this.#leader.id}`;
    this.#line.update(`starting ${this.ids.length} nodes: ${this.#serving.size}/${this.ids.length} serving, ${leader}, ${seconds}s`, force);
  }
}

/** The term of a `became leader` record: JSON's `"term":N`, or pretty's `term: N`. */
function termOf(line: string): number | undefined {
  const match = /"?term"?:\s*(\d+)/.exec(line);
  return match === null ? undefined : Number(match[1]);
}
