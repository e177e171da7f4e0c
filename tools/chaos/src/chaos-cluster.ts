import { closeSync, mkdirSync, openSync, rmSync, writeSync, writeFileSync } from 'node:fs';
import { freePorts } from '@synod/testkit';
import { join } from 'node:path';
import { SynodClient, type MemberStatus } from '@synod/transport-grpc';
import { NetworkLab } from './network-lab.js';
import { ServeProcess } from './serve-process.js';
import { run, runQuietlySync } from './shell.js';

/** Options of {@link ChaosCluster.start}. */
export interface ChaosClusterOptions {
  /** Node ids. @default ['n1', 'n2', 'n3'] */
  readonly ids?: readonly string[];
  /** The run's directory: data, disks and logs go under it. */
  readonly dir: string;
  /** The command that runs `synod serve` (its flags are appended). */
  readonly serveCommand: readonly string[];
  /**
   * `namespaces`: each node in its own network namespace (root only);
   * `loopback`: all on 127.0.0.1, so only process and disk faults apply.
   */
  readonly network: 'namespaces' | 'loopback';
  /**
   * Give every node a tmpfs of this many bytes for its data (root only), so
   * a disk can be filled up. @default no tmpfs
   */
  readonly tmpfsBytes?: number;
  /** Raft tick of every node, in ms (the election timeout is 10 ticks). @default 100 */
  readonly tickMs?: number;
  /** Start every node with `--lease-reads`. @default false */
  readonly leaseReads?: boolean;
}

const PORT = 7000;

/**
 * A `synod serve` cluster for chaos runs: the processes, their network
 * (a {@link NetworkLab} or loopback), their disks (optionally a small tmpfs
 * each, and an EIO trigger file each: see `synod serve --inject-disk-faults`)
 * and a client for Status calls.
 *
 * @example
 * ```ts
 * const cluster = await ChaosCluster.start({ dir, serveCommand: [process.execPath, bin, 'serve'], network: 'namespaces' });
 * try {
 *   const leader = await cluster.leader();
 * } finally {
 *   await cluster.destroy();
 * }
 * ```
 */
export class ChaosCluster {
  readonly ids: readonly string[];
  readonly lab: NetworkLab | undefined;
  readonly nodes: ReadonlyMap<string, ServeProcess>;
  readonly #endpoints: ReadonlyMap<string, string>;
  readonly #disks: ReadonlyMap<string, string>;
  readonly #tmpfs: boolean;
  readonly #statusClient: SynodClient;
  #destroyed = false;
  readonly #onExit = (): void => this.#unmountSync();

  private constructor(
    ids: readonly string[],
    lab: NetworkLab | undefined,
    nodes: Map<string, ServeProcess>,
    endpoints: Map<string, string>,
    disks: Map<string, string>,
    tmpfs: boolean,
  ) {
    this.ids = ids;
    this.lab = lab;
    this.nodes = nodes;
    this.#endpoints = endpoints;
    this.#disks = disks;
    this.#tmpfs = tmpfs;
    this.#statusClient = new SynodClient({ endpoints: [...endpoints.values()], security: { insecure: true }, attemptTimeoutMs: 1_000 });
    process.once('exit', this.#onExit);
  }

  /** Builds the network and disks, starts every node and waits until each serves. */
  static async start(options: ChaosClusterOptions): Promise<ChaosCluster> {
    const ids = options.ids ?? ['n1', 'n2', 'n3'];
    const lab = options.network === 'namespaces' ? await NetworkLab.create({ ids }) : undefined;
    const endpoints = new Map<string, string>();
    if (lab !== undefined) {
      for (const id of ids) endpoints.set(id, `${lab.hosts.get(id)!.address}:${PORT}`);
    } else {
      const ports = await freePorts(ids.length);
      ids.forEach((id, i) => endpoints.set(id, `127.0.0.1:${ports[i]}`));
    }
    const disks = new Map<string, string>();
    const mounted: string[] = [];
    const nodes = new Map<string, ServeProcess>();
    mkdirSync(join(options.dir, 'logs'), { recursive: true });
    try {
      for (const id of ids) {
        const disk = join(options.dir, 'disks', id);
        mkdirSync(disk, { recursive: true });
        if (options.tmpfsBytes !== undefined) {
          await run(['mount', '-t', 'tmpfs', '-o', `size=${options.tmpfsBytes}`, `synod-chaos-${id}`, disk]);
          mounted.push(disk);
        }
        disks.set(id, disk);
        const peers = ids.filter((other) => other !== id).map((other) => `${other}=${endpoints.get(other)}`);
        nodes.set(
          id,
          new ServeProcess({
            id,
            command: options.serveCommand,
            ...(lab === undefined ? {} : { wrapper: lab.execPrefix(id) }),
            args: [
              '--id', id,
              '--listen', endpoints.get(id)!,
              '--peers', peers.join(','),
              '--data', join(disk, 'data'),
              '--insecure',
              '--log-level', 'warn',
              '--tick-ms', String(options.tickMs ?? 100),
              '--inject-disk-faults', join(options.dir, 'disks', `${id}.eio`),
              ...(options.leaseReads === true ? ['--lease-reads'] : []),
            ],
            logFile: join(options.dir, 'logs', `${id}.log`),
          }),
        );
      }
      const cluster = new ChaosCluster(ids, lab, nodes, endpoints, disks, options.tmpfsBytes !== undefined);
      try {
        await Promise.all([...nodes.values()].map((node) => node.start()));
      } catch (error) {
        await cluster.destroy();
        throw error;
      }
      return cluster;
    } catch (error) {
      if (nodes.size < ids.length) {
        for (const disk of mounted) await run(['umount', '-l', disk]).catch(() => undefined);
        await lab?.destroy();
      }
      throw error;
    }
  }

  /** `host:port` of every node, for clients. */
  get endpoints(): string[] {
    return [...this.#endpoints.values()];
  }

  endpointOf(id: string): string {
    const endpoint = this.#endpoints.get(id);
    if (endpoint === undefined) throw new RangeError(`no node '${id}'`);
    return endpoint;
  }

  /** Whether each node's data sits on a small tmpfs that {@link fillDisk} can fill. */
  get hasSmallDisks(): boolean {
    return this.#tmpfs;
  }

  /**
   * Status of one node, or undefined when it does not answer within
   * `timeoutMs`. A refused connection (a node restarting) is tried again
   * until then.
   */
  async status(id: string, options: { includeStateHash?: boolean; timeoutMs?: number } = {}): Promise<MemberStatus | undefined> {
    const deadline = Date.now() + (options.timeoutMs ?? 1_000);
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      try {
        return await this.#statusClient.memberStatus(this.endpointOf(id), { timeoutMs: left, includeStateHash: options.includeStateHash === true });
      } catch {
        await new Promise((resolve) => setTimeout(resolve, Math.min(100, left)));
      }
    }
  }

  /** The leader most answering nodes agree on, if any. */
  async leader(): Promise<string | undefined> {
    const statuses = await Promise.all(this.ids.map((id) => this.status(id)));
    const votes = new Map<string, number>();
    for (const status of statuses) {
      if (status?.leaderId !== undefined) votes.set(status.leaderId, (votes.get(status.leaderId) ?? 0) + 1);
    }
    return [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  }

  /** Makes every later write and sync of `id`'s storage fail with EIO. */
  failDisk(id: string): void {
    writeFileSync(this.#eioTrigger(id), 'injected by synod chaos\n');
  }

  /** Fills `id`'s tmpfs to the last byte; returns the bytes written. */
  fillDisk(id: string): number {
    if (!this.#tmpfs) throw new Error('the nodes have no small disks (tmpfs) to fill');
    const fd = openSync(join(this.#disk(id), 'filler'), 'w');
    const chunk = Buffer.alloc(1 << 20, 0x5a);
    let written = 0;
    try {
      for (;;) {
        try {
          written += writeSync(fd, chunk, 0, chunk.length);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          // Top up the last partial megabyte a page at a time.
          try {
            for (;;) written += writeSync(fd, chunk, 0, 4096);
          } catch {
            return written;
          }
        }
      }
    } finally {
      closeSync(fd);
    }
  }

  /** Undoes {@link failDisk} and {@link fillDisk} for `id`. */
  healDisk(id: string): void {
    rmSync(this.#eioTrigger(id), { force: true });
    rmSync(join(this.#disk(id), 'filler'), { force: true });
  }

  /**
   * Starts every node that is not running (killed or fail-stopped). A node
   * that exits while starting (say, it cannot recover its data) is reported
   * in `failed`, as is one still loading after the start timeout (it stays
   * and may yet come up).
   */
  async restartStopped(): Promise<{ readonly restarted: string[]; readonly failed: { readonly id: string; readonly error: string }[] }> {
    const stopped = [...this.nodes.values()].filter((node) => !node.running);
    const results = await Promise.allSettled(stopped.map((node) => node.start()));
    const failed = results.flatMap((result, i) =>
      result.status === 'rejected' ? [{ id: stopped[i]!.id, error: result.reason instanceof Error ? result.reason.message : String(result.reason) }] : [],
    );
    return { restarted: stopped.map((node) => node.id).filter((id) => !failed.some((f) => f.id === id)), failed };
  }

  /** Stops every node (SIGCONT first where paused), unmounts the disks and removes the network. Idempotent. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#statusClient.close();
    await Promise.all([...this.nodes.values()].map((node) => node.stop(3_000)));
    await Promise.all([...this.nodes.values()].map((node) => node.close()));
    if (this.#tmpfs) for (const disk of this.#disks.values()) await run(['umount', '-l', disk]).catch(() => undefined);
    process.off('exit', this.#onExit);
    await this.lab?.destroy();
  }

  #unmountSync(): void {
    for (const node of this.nodes.values()) {
      if (node.pid !== undefined) {
        try {
          process.kill(node.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    if (this.#tmpfs) for (const disk of this.#disks.values()) runQuietlySync(['umount', '-l', disk]);
  }

  #disk(id: string): string {
    const disk = this.#disks.get(id);
    if (disk === undefined) throw new RangeError(`no node '${id}'`);
    return disk;
  }

  #eioTrigger(id: string): string {
    return `${this.#disk(id)}.eio`;
  }
}

