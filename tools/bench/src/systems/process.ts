import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { freePorts } from '@synod/testkit';

export { freePorts };


/** CPU seconds (user + system) a process has used, from /proc (Linux); undefined elsewhere or once it has exited. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** How a {@link MemberProcess} is started and when it counts as up. */
export interface MemberSpec {
  readonly id: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Resolves once the member serves; given the output so far. Polled every 25 ms until it is true. */
  readonly ready: (output: string) => boolean | Promise<boolean>;
  /** Longest start-up before giving up. @default 30 s */
  readonly startTimeoutMs?: number;
}

/**
 * One cluster member as a child process that can be SIGKILLed and started
 * again with the same command (and so the same data directory). The last
 * 64 KiB of its output are kept for error messages.
 */
export class MemberProcess {
  #child: ChildProcess | undefined;
  #output = '';
  #exited: Promise<void> = Promise.resolve();

  constructor(readonly spec: MemberSpec) {}

  get id(): string {
    return this.spec.id;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get alive(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  get output(): string {
    return this.#output;
  }

  /** Spawns the member and waits until `spec.ready` says it serves. */
  async start(): Promise<void> {
    this.#output = '';
    const child = spawn(this.spec.command, [...this.spec.args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    const keep = (chunk: Buffer): void => {
      this.#output = (this.#output + chunk.toString('utf8')).slice(-65_536);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    await spawned;
    const limit = Date.now() + (this.spec.startTimeoutMs ?? 30_000);
    for (;;) {
      if (!this.alive) throw new Error(`${this.id} exited during start-up:\n${this.#output}`);
      if (await this.spec.ready(this.#output)) return;
      if (Date.now() > limit) throw new Error(`${this.id} did not come up within ${this.spec.startTimeoutMs ?? 30_000} ms:\n${this.#output}`);
      await sleep(25);
    }
  }

  /** Sends `signal` and waits for the exit (SIGKILL by default). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.alive) return;
    this.#child!.kill(signal);
    await this.#exited;
  }

  /** Sends `signal` (SIGSTOP, SIGCONT, …) without waiting for anything. */
  signal(signal: NodeJS.Signals): void {
    if (this.alive) this.#child!.kill(signal);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.alive) return;
    const force = setTimeout(() => this.#child?.kill('SIGKILL'), graceMs);
    this.#child!.kill('SIGTERM');
    await this.#exited;
    clearTimeout(force);
  }
}
