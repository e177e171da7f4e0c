import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

/** How one `synod serve` process is started. */
export interface ServeProcessOptions {
  readonly id: string;
  /** `[node, …/bin.js, 'serve']` or the like; the serve flags are appended. */
  readonly command: readonly string[];
  /** Runs before `command`, e.g. `ip netns exec NS`. */
  readonly wrapper?: readonly string[];
  /** The serve flags (`--id`, `--listen`, …). */
  readonly args: readonly string[];
  /** Where stdout and stderr of every incarnation are appended. */
  readonly logFile: string;
  /** How long `start` waits for "serving" (a loaded 2-core machine takes seconds to load the CLI). @default 60000 */
  readonly startTimeoutMs?: number;
  /** What the process prints (on stdout or stderr) once it serves. @default 'serving cluster' (synod serve) */
  readonly readyText?: string;
}

/** How an incarnation ended. */
export interface ServeExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * One node of a chaos cluster as an operating-system process: start,
 * SIGKILL, SIGSTOP/SIGCONT, SIGTERM, restart. Every incarnation logs to the
 * same file, so a node's whole story is in one place.
 *
 * @example
 * ```ts
 * const node = new ServeProcess({ id: 'n1', command: [process.execPath, bin, 'serve'], args, logFile });
 * await node.start();
 * node.pause(); // SIGSTOP
 * node.resume(); // SIGCONT
 * await node.kill(); // SIGKILL, waits for the exit
 * ```
 */
export class ServeProcess {
  readonly id: string;
  #options: ServeProcessOptions;
  readonly #log: WriteStream;
  #child: ChildProcess | undefined;
  #exit: Promise<ServeExit> | undefined;
  #lastExit: ServeExit | undefined;
  #paused = false;
  #incarnation = 0;

  constructor(options: ServeProcessOptions) {
    this.id = options.id;
    this.#options = options;
    this.#log = createWriteStream(options.logFile, { flags: 'a' });
  }

  /** Replaces the serve flags for the next incarnations (a node that rejoins starts with `--join`). */
  setArgs(args: readonly string[]): void {
    this.#options = { ...this.#options, args };
  }

  /** Whether an incarnation is running (it may be paused). */
  get running(): boolean {
    return this.#child !== undefined;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** How the last incarnation ended, if one has. */
  get lastExit(): ServeExit | undefined {
    return this.#lastExit;
  }

  /** Starts an incarnation and waits until it serves. */
  start(): Promise<void> {
    if (this.#child !== undefined) return Promise.resolve();
    const incarnation = ++this.#incarnation;
    const [program, ...rest] = [...(this.#options.wrapper ?? []), ...this.#options.command, ...this.#options.args];
    this.#log.write(`--- chaos: ${this.id} incarnation ${incarnation} starting at ${new Date().toISOString()}\n`);
    const child = spawn(program!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#paused = false;
    this.#exit = new Promise<ServeExit>((resolve) => {
      child.once('exit', (code, signal) => {
        const exit = { code, signal };
        this.#lastExit = exit;
        if (this.#child === child) {
          this.#child = undefined;
          this.#paused = false;
        }
        this.#log.write(`--- chaos: ${this.id} incarnation ${incarnation} exited (code ${code}, signal ${signal})\n`);
        resolve(exit);
      });
    });
    const exited = this.#exit;
    const readyText = this.#options.readyText ?? 'serving cluster';
    return new Promise<void>((resolve, reject) => {
      let seen = '';
      let ready = false;
      const timer = setTimeout(() => {
        reject(new Error(`${this.id} did not start serving within ${this.#options.startTimeoutMs ?? 60_000} ms (log: ${this.#options.logFile})`));
      }, this.#options.startTimeoutMs ?? 60_000);
      const onOutput = (chunk: Buffer): void => {
        const text = chunk.toString('utf8');
        this.#log.write(text);
        if (ready) return;
        seen += text;
        if (seen.includes(readyText)) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onOutput);
      child.stderr!.on('data', onOutput);
      void exited.then((exit) => {
        clearTimeout(timer);
        reject(new Error(`${this.id} exited while starting (code ${exit.code}, signal ${exit.signal}; log: ${this.#options.logFile})`));
      });
    });
  }

  /** SIGKILL, then waits for the exit. */
  async kill(): Promise<ServeExit | undefined> {
    return this.#signalAndWait('SIGKILL');
  }

  /** SIGTERM (after SIGCONT if paused), SIGKILL if it takes longer than `graceMs`. */
  async stop(graceMs = 5_000): Promise<ServeExit | undefined> {
    if (this.#child === undefined) return this.#lastExit;
    if (this.#paused) this.resume();
    const exit = this.#exit!;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child?.kill('SIGKILL'), graceMs);
    try {
      return await exit;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGSTOP: the process stops answering anything until {@link resume}. */
  pause(): void {
    if (this.#child === undefined || this.#paused) return;
    this.#child.kill('SIGSTOP');
    this.#paused = true;
  }

  /** SIGCONT. */
  resume(): void {
    if (this.#child === undefined || !this.#paused) return;
    this.#child.kill('SIGCONT');
    this.#paused = false;
  }

  /** Resolves when the running incarnation exits (at once if none runs). */
  async exited(): Promise<ServeExit | undefined> {
    return this.#child === undefined ? this.#lastExit : this.#exit;
  }

  /** Closes the log file. */
  close(): Promise<void> {
    return new Promise((resolve) => this.#log.end(resolve));
  }

  async #signalAndWait(signal: NodeJS.Signals): Promise<ServeExit | undefined> {
    if (this.#child === undefined) return this.#lastExit;
    const exit = this.#exit!;
    this.#child.kill(signal);
    return exit;
  }
}
