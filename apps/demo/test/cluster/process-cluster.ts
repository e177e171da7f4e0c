import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SynodClient, type MemberStatus } from '@synod/transport-grpc';
import { SynodNatsClient } from '@synod/transport-nats';
import { freePorts } from '@synod/testkit';

/**
 * The built CLI. The demo's test target depends on its build (package.json),
 * so `nx run @synod/demo:test` always has it; a bare `vitest run` needs
 * `pnpm nx run @synod/demo:build` first.
 */
export { freePorts };

export const SYNOD_BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));


export interface ProcessClusterOptions {
  readonly ids?: readonly string[];
  /** Raft tick of every node, ms (election timeout = 10 ticks). */
  readonly tickMs?: number;
  readonly snapshotEntries?: number;
  /** Extra flags for every `serve`. */
  readonly extraFlags?: readonly string[];
  /** Extra flags for one member's `serve` (after `extraFlags`): its own SWIM address or metrics port, say. */
  readonly memberFlags?: (id: string) => readonly string[];
  /** With a URL, the members talk through that NATS server (`--transport nats`); their endpoints are then their ids. */
  readonly natsUrl?: string;
}

/** What the cluster helpers need of a client: a member's status by endpoint (gRPC `host:port`, or the id over NATS). */
export interface StatusSource {
  memberStatus(endpoint: string): Promise<MemberStatus>;
}

interface Member {
  readonly id: string;
  readonly endpoint: string;
  process: ChildProcess | undefined;
  output: string;
}

/**
 * A cluster of `synod serve` processes on loopback with FileStorage in a
 * temporary directory, started and stopped by a test.
 */
export class ProcessCluster {
  readonly dir: string;
  readonly tickMs: number;
  readonly #members = new Map<string, Member>();
  readonly #options: ProcessClusterOptions;

  private constructor(dir: string, ports: readonly number[], options: ProcessClusterOptions) {
    this.dir = dir;
    this.#options = options;
    this.tickMs = options.tickMs ?? 50;
    const ids = options.ids ?? ['n1', 'n2', 'n3'];
    ids.forEach((id, i) =>
      this.#members.set(id, { id, endpoint: options.natsUrl === undefined ? `127.0.0.1:${ports[i]}` : id, process: undefined, output: '' }),
    );
  }

  /** Starts every member and waits until each says it serves. */
  static async start(options: ProcessClusterOptions = {}): Promise<ProcessCluster> {
    if (!existsSync(SYNOD_BIN)) throw new Error(`${SYNOD_BIN} is missing: run 'pnpm nx run @synod/demo:build' (nx runs it before the demo's tests)`);
    const ids = options.ids ?? ['n1', 'n2', 'n3'];
    const cluster = new ProcessCluster(mkdtempSync(join(tmpdir(), 'synod-procs-')), await freePorts(ids.length), options);
    await Promise.all(ids.map((id) => cluster.startMember(id)));
    return cluster;
  }

  get ids(): string[] {
    return [...this.#members.keys()];
  }

  get endpoints(): string[] {
    return [...this.#members.values()].map((member) => member.endpoint);
  }

  endpointOf(id: string): string {
    return this.#member(id).endpoint;
  }

  /** Everything member `id` printed (stdout and stderr) since it was first started. */
  output(id: string): string {
    return this.#member(id).output;
  }

  isRunning(id: string): boolean {
    return this.#member(id).process !== undefined;
  }

  #member(id: string): Member {
    const member = this.#members.get(id);
    if (member === undefined) throw new Error(`no member ${id}`);
    return member;
  }

  /** Spawns `synod serve` for `id` (with `extraFlags` for this start only) and resolves once it serves. */
  startMember(id: string, extraFlags: readonly string[] = []): Promise<void> {
    const member = this.#member(id);
    if (member.process !== undefined) throw new Error(`${id} is running`);
    const others = [...this.#members.values()].filter((m) => m.id !== id);
    const natsUrl = this.#options.natsUrl;
    const network =
      natsUrl === undefined
        ? ['--listen', member.endpoint, '--peers', others.map((m) => `${m.id}=${m.endpoint}`).join(','), '--insecure']
        : ['--transport', 'nats', '--nats-url', natsUrl, '--peers', others.map((m) => m.id).join(',')];
    const args = [
      SYNOD_BIN,
      'serve',
      '--id', id,
      ...network,
      '--data', join(this.dir, id),
      '--tick-ms', String(this.tickMs),
      '--snapshot-entries', String(this.#options.snapshotEntries ?? 10_000),
      ...(this.#options.extraFlags ?? []),
      ...(this.#options.memberFlags?.(id) ?? []),
      ...extraFlags,
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    member.process = child;
    return new Promise<void>((resolve, reject) => {
      // Generous: on a loaded 2-core machine three Node processes loading gRPC can take a while.
      const timer = setTimeout(() => reject(new Error(`${id} did not start within 60 s:\n${member.output}`)), 60_000);
      const onData = (chunk: Buffer): void => {
        member.output += chunk.toString('utf8');
        if (member.output.includes(`${id} serving cluster`)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (member.process === child) member.process = undefined;
        reject(new Error(`${id} exited (${signal ?? `code ${code}`}) before serving:\n${member.output}`));
      });
    });
  }

  /** Sends `signal` and waits for the process to exit. */
  async stopMember(id: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const member = this.#member(id);
    const child = member.process;
    if (child === undefined) return null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(signal);
    const code = await exited;
    member.process = undefined;
    return code;
  }

  /** Sends `signal` (SIGSTOP, SIGCONT, …) to a running member without waiting for anything. */
  signal(id: string, signal: NodeJS.Signals): void {
    const child = this.#member(id).process;
    if (child === undefined) throw new Error(`${id} is not running`);
    child.kill(signal);
  }

  /** A client of every member. */
  client(options: { timeoutMs?: number; attemptTimeoutMs?: number } = {}): SynodClient {
    return new SynodClient({ endpoints: this.endpoints, security: { insecure: true }, timeoutMs: options.timeoutMs ?? 15_000, attemptTimeoutMs: options.attemptTimeoutMs ?? 1_500 });
  }

  /** A client over NATS (for a cluster started with `natsUrl`). */
  natsClient(options: { timeoutMs?: number; attemptTimeoutMs?: number } = {}): SynodNatsClient {
    if (this.#options.natsUrl === undefined) throw new Error('this cluster runs over gRPC');
    return new SynodNatsClient({ servers: this.#options.natsUrl, timeoutMs: options.timeoutMs ?? 15_000, attemptTimeoutMs: options.attemptTimeoutMs ?? 1_500 });
  }

  /** Status of every running member. */
  async statuses(client: StatusSource): Promise<MemberStatus[]> {
    const answers = await Promise.all(
      [...this.#members.values()].filter((m) => m.process !== undefined).map((m) => client.memberStatus(m.endpoint).catch(() => undefined)),
    );
    return answers.filter((answer): answer is MemberStatus => answer !== undefined);
  }

  /** Waits until a running member leads and every running member knows it; returns its id. */
  async waitForLeader(client: StatusSource, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const statuses = await this.statuses(client);
      const leader = statuses.find((s) => s.role === 'leader');
      const running = [...this.#members.values()].filter((m) => m.process !== undefined).length;
      if (leader !== undefined && statuses.length === running && statuses.every((s) => s.leaderId === leader.id)) return leader.id;
      if (Date.now() > deadline) throw new Error(`no leader within ${timeoutMs} ms: ${JSON.stringify(statuses)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Stops every member (SIGTERM) and removes the data. */
  async destroy(): Promise<void> {
    await Promise.all(this.ids.map((id) => this.stopMember(id, 'SIGTERM')));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
