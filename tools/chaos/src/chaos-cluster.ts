import { closeSync, mkdirSync, openSync, rmSync, writeSync, writeFileSync } from 'node:fs';
import { freePorts } from '@synod/testkit';
import { join } from 'node:path';
import type { MemberStatus, SynodKvClient } from '@synod/protocol';
import { SynodClient } from '@synod/transport-grpc';
import { SynodNatsClient } from '@synod/transport-nats';
import { findNatsServer, NATS_SERVER_INSTALL_HINT } from '@synod/transport-nats/nats-server';
import { NetworkLab } from './network-lab.js';
import { ServeProcess } from './serve-process.js';
import { run, runQuietlySync } from './shell.js';

/** Options of {@link ChaosCluster.start}. */
export interface ChaosClusterOptions {
  /** Node ids of the founding members. @default ['n1', 'n2', 'n3'] */
  readonly ids?: readonly string[];
  /**
   * How many more nodes to prepare (ids after the founders', each with its
   * host, endpoint and disk) but not start: {@link ChaosCluster.addMember}
   * starts one with `--join` and adds it. @default 0
   */
  readonly spares?: number;
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
  /** `synod serve --snapshot-entries`: small values make joining nodes catch up from a snapshot. @default serve's */
  readonly snapshotEntries?: number;
  /**
   * `grpc`: the nodes talk to each other and to clients directly;
   * `nats`: through a `nats-server` the cluster starts (in a namespace of
   * its own, {@link BROKER_ID}, or on loopback). @default 'grpc'
   */
  readonly transport?: 'grpc' | 'nats';
}

/** Options of a client of the cluster (see {@link ChaosCluster.client}). */
export interface ChaosClientOptions {
  readonly clientId?: string;
  readonly timeoutMs?: number;
  readonly attemptTimeoutMs?: number;
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
}

const PORT = 7000;
const NATS_PORT = 4222;
/** The NATS server's host in the network lab, and its process's id in logs. */
export const BROKER_ID = 'nats';

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
  /** Every node id, members and spares. */
  readonly allIds: readonly string[];
  readonly lab: NetworkLab | undefined;
  readonly nodes: ReadonlyMap<string, ServeProcess>;
  readonly transport: 'grpc' | 'nats';
  /** The NATS server (with `transport: 'nats'`). */
  readonly broker: ServeProcess | undefined;
  /** Its URL, `nats://host:port`. */
  readonly brokerUrl: string | undefined;
  readonly #endpoints: ReadonlyMap<string, string>;
  readonly #disks: ReadonlyMap<string, string>;
  readonly #tmpfs: boolean;
  readonly #statusClient: SynodClient | SynodNatsClient;
  readonly #members: Set<string>;
  readonly #argsOf: (id: string, join: boolean) => string[];
  #destroyed = false;
  readonly #onExit = (): void => this.#unmountSync();

  private constructor(
    allIds: readonly string[],
    members: readonly string[],
    argsOf: (id: string, join: boolean) => string[],
    lab: NetworkLab | undefined,
    nodes: Map<string, ServeProcess>,
    endpoints: Map<string, string>,
    disks: Map<string, string>,
    tmpfs: boolean,
    broker: { readonly process: ServeProcess; readonly url: string } | undefined,
  ) {
    this.allIds = allIds;
    this.#members = new Set(members);
    this.#argsOf = argsOf;
    this.lab = lab;
    this.nodes = nodes;
    this.transport = broker === undefined ? 'grpc' : 'nats';
    this.broker = broker?.process;
    this.brokerUrl = broker?.url;
    this.#endpoints = endpoints;
    this.#disks = disks;
    this.#tmpfs = tmpfs;
    this.#statusClient = this.client({ attemptTimeoutMs: 1_000 }) as SynodClient | SynodNatsClient;
    process.once('exit', this.#onExit);
  }

  /**
   * A client of the cluster over its transport: a `SynodClient` on every
   * node's endpoint, or a `SynodNatsClient` on the NATS server. The caller
   * closes it.
   */
  client(options: ChaosClientOptions = {}): SynodKvClient {
    const common = {
      ...(options.clientId === undefined ? {} : { clientId: options.clientId }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.attemptTimeoutMs === undefined ? {} : { attemptTimeoutMs: options.attemptTimeoutMs }),
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
    };
    if (this.brokerUrl !== undefined) return new SynodNatsClient({ servers: this.brokerUrl, ...common });
    return new SynodClient({ endpoints: [...this.#endpoints.values()], security: { insecure: true }, ...common });
  }

  /** The members as far as the suite changed them: the founders, plus added, minus removed. Nodes not among them are not started. */
  get ids(): readonly string[] {
    return this.allIds.filter((id) => this.#members.has(id));
  }

  /** Prepared nodes that are not members (and not running). */
  get spares(): readonly string[] {
    return this.allIds.filter((id) => !this.#members.has(id));
  }

  /** Builds the network and disks, starts every founding node and waits until each serves. */
  static async start(options: ChaosClusterOptions): Promise<ChaosCluster> {
    const founders = options.ids ?? ['n1', 'n2', 'n3'];
    const taken = new Set(founders);
    const spares: string[] = [];
    for (let n = 1; spares.length < (options.spares ?? 0); n++) if (!taken.has(`n${n}`)) spares.push(`n${n}`);
    const ids = [...founders, ...spares];
    const nats = options.transport === 'nats';
    const natsBinary = nats ? findNatsServer() : undefined;
    if (nats && natsBinary === undefined) throw new Error(NATS_SERVER_INSTALL_HINT);
    const lab = options.network === 'namespaces' ? await NetworkLab.create({ ids: nats ? [...ids, BROKER_ID] : ids }) : undefined;
    const endpoints = new Map<string, string>();
    let brokerAddress: string | undefined;
    if (lab !== undefined) {
      for (const id of ids) endpoints.set(id, `${lab.hosts.get(id)!.address}:${PORT}`);
      if (nats) brokerAddress = `${lab.hosts.get(BROKER_ID)!.address}:${NATS_PORT}`;
    } else {
      const ports = await freePorts(ids.length + 1);
      ids.forEach((id, i) => endpoints.set(id, `127.0.0.1:${ports[i]}`));
      if (nats) brokerAddress = `127.0.0.1:${ports[ids.length]}`;
    }
    const brokerUrl = brokerAddress === undefined ? undefined : `nats://${brokerAddress}`;
    const disks = new Map<string, string>();
    const mounted: string[] = [];
    const nodes = new Map<string, ServeProcess>();
    mkdirSync(join(options.dir, 'logs'), { recursive: true });
    let broker: { process: ServeProcess; url: string } | undefined;
    if (brokerAddress !== undefined) {
      const config = join(options.dir, 'nats-server.conf');
      // No JetStream, no auth: the broker only carries the nodes' and clients' messages.
      writeFileSync(config, `listen: ${brokerAddress}\nserver_name: synod-chaos\n`);
      broker = {
        url: brokerUrl!,
        process: new ServeProcess({
          id: BROKER_ID,
          command: [natsBinary!],
          ...(lab === undefined ? {} : { wrapper: lab.execPrefix(BROKER_ID) }),
          args: ['-c', config],
          logFile: join(options.dir, 'logs', `${BROKER_ID}.log`),
          readyText: 'Server is ready',
        }),
      };
    }
    const transportDelays = !(lab?.capabilities.netem ?? false);
    // A founder lists the other founders (its first configuration); a node
    // that joins lists everyone, members or not: it only needs addresses.
    const argsOf = (id: string, joining: boolean): string[] => {
      const others = (joining ? ids : founders).filter((other) => other !== id);
      const network =
        brokerUrl === undefined
          ? ['--listen', endpoints.get(id)!, '--peers', others.map((other) => `${other}=${endpoints.get(other)}`).join(','), '--insecure']
          : ['--transport', 'nats', '--nats-url', brokerUrl, '--peers', others.join(',')];
      return [
        '--id', id,
        ...network,
        ...(joining ? ['--join'] : []),
        '--data', join(disks.get(id)!, 'data'),
        '--log-level', 'warn',
        '--tick-ms', String(options.tickMs ?? 100),
        '--inject-disk-faults', join(options.dir, 'disks', `${id}.eio`),
        ...(options.leaseReads === true ? ['--lease-reads'] : []),
        ...(options.snapshotEntries === undefined ? [] : ['--snapshot-entries', String(options.snapshotEntries)]),
        // Without tc netem, message delay comes from the nodes' own fault hooks (Cluster/SetLinkFaults).
        ...(transportDelays ? ['--fault-hooks'] : []),
      ];
    };
    try {
      await broker?.process.start();
      for (const id of ids) {
        const disk = join(options.dir, 'disks', id);
        mkdirSync(disk, { recursive: true });
        if (options.tmpfsBytes !== undefined) {
          await run(['mount', '-t', 'tmpfs', '-o', `size=${options.tmpfsBytes}`, `synod-chaos-${id}`, disk]);
          mounted.push(disk);
        }
        disks.set(id, disk);
        nodes.set(
          id,
          new ServeProcess({
            id,
            command: options.serveCommand,
            ...(lab === undefined ? {} : { wrapper: lab.execPrefix(id) }),
            args: argsOf(id, false),
            logFile: join(options.dir, 'logs', `${id}.log`),
          }),
        );
      }
      const cluster = new ChaosCluster(ids, founders, argsOf, lab, nodes, endpoints, disks, options.tmpfsBytes !== undefined, broker);
      try {
        await Promise.all(founders.map((id) => nodes.get(id)!.start()));
      } catch (error) {
        await cluster.destroy();
        throw error;
      }
      return cluster;
    } catch (error) {
      if (nodes.size < ids.length) {
        await broker?.process.stop(1_000);
        await broker?.process.close();
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

  /** The data directory of `id` (FileStorage's). */
  dataDir(id: string): string {
    return join(this.#disk(id), 'data');
  }

  /** Whether each node's data sits on a small tmpfs that {@link fillDisk} can fill. */
  get hasSmallDisks(): boolean {
    return this.#tmpfs;
  }

  /**
   * Message delay comes from the nodes' fault hooks (`serve --fault-hooks`,
   * Cluster/SetLinkFaults) rather than from tc netem, which this kernel (or
   * a run on loopback) lacks. The delay then applies to the messages of the
   * consensus transport, both ways, with no jitter.
   */
  get hasTransportDelays(): boolean {
    return !(this.lab?.capabilities.netem ?? false);
  }

  /** How the status client names member `id`: its gRPC endpoint, or its id over NATS. */
  #addressOf(id: string): string {
    return this.#statusClient instanceof SynodClient ? this.endpointOf(id) : id;
  }

  /** Delays every message between `id` and each other member by `delayMs`, both ways, through `id`'s fault hooks. */
  async delayLinks(id: string, delayMs: number): Promise<void> {
    const faults = this.ids.filter((other) => other !== id).map((peerId) => ({ peerId, drop: false, delayMs }));
    await this.#statusClient.setLinkFaults(this.#addressOf(id), faults, { timeoutMs: 2_000 });
  }

  /** Clears the link delays of every running member (a restarted node starts with none). */
  async healLinkDelays(): Promise<void> {
    for (const id of this.ids) {
      if (!this.nodes.get(id)!.running) continue;
      await this.#statusClient.setLinkFaults(this.#addressOf(id), [], { timeoutMs: 2_000 }).catch(() => undefined);
    }
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
        return await this.#statusClient.memberStatus(this.#addressOf(id), { timeoutMs: left, includeStateHash: options.includeStateHash === true });
      } catch {
        await new Promise((resolve) => setTimeout(resolve, Math.min(100, left)));
      }
    }
  }

  /**
   * Puts a marker (outside the workload's keys) until one commits; returns
   * how long that took in ms, or undefined when none did within `boundMs`.
   */
  async commitWithin(boundMs: number): Promise<number | undefined> {
    const started = performance.now();
    const client = this.client({ attemptTimeoutMs: 1_000 });
    try {
      for (;;) {
        const left = boundMs - (performance.now() - started);
        if (left <= 0) return undefined;
        try {
          await client.put('chaos/recovered', String(Date.now()), { timeoutMs: Math.min(left, 5_000) });
          return performance.now() - started;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    } finally {
      await client.close();
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

  /**
   * Adds spare `id`: wipes its data, starts it with `--join` and asks the
   * cluster (Cluster/AddMember, with its endpoint) to add it as a voter.
   * Resolves with whether it became a member; when the outcome is unclear
   * (the call timed out), the leader's configuration decides. A spare that
   * did not become a member is stopped again.
   */
  async addMember(id: string, timeoutMs = 20_000): Promise<{ readonly added: boolean; readonly error?: string }> {
    if (this.#members.has(id)) throw new RangeError(`${id} is a member already`);
    const node = this.nodes.get(id)!;
    await node.stop(3_000);
    rmSync(join(this.#disk(id), 'data'), { recursive: true, force: true });
    node.setArgs(this.#argsOf(id, true));
    await node.start();
    const client = this.client({ timeoutMs, attemptTimeoutMs: 2_000 });
    let error: string | undefined;
    try {
      await client.addMember(id, this.transport === 'nats' ? '' : this.endpointOf(id));
    } catch (failure) {
      error = failure instanceof Error ? failure.message : String(failure);
    } finally {
      await client.close();
    }
    const added = error === undefined || (await this.configuration())?.includes(id) === true;
    if (added) this.#members.add(id);
    else await node.stop(3_000);
    return { added, ...(error === undefined ? {} : { error }) };
  }

  /**
   * Removes member `id` (Cluster/RemoveMember through the leader) and stops
   * its process; its data is wiped when it is added again. Resolves with
   * whether it left the configuration.
   */
  async removeMember(id: string, timeoutMs = 20_000): Promise<{ readonly removed: boolean; readonly error?: string }> {
    const client = this.client({ timeoutMs, attemptTimeoutMs: 2_000 });
    let error: string | undefined;
    try {
      await client.removeMember(id);
    } catch (failure) {
      error = failure instanceof Error ? failure.message : String(failure);
    } finally {
      await client.close();
    }
    const configuration = error === undefined ? undefined : await this.configuration();
    const removed = error === undefined || (configuration !== undefined && !configuration.includes(id));
    if (removed) {
      this.#members.delete(id);
      const node = this.nodes.get(id)!;
      node.resume();
      await node.stop(3_000);
    }
    return { removed, ...(error === undefined ? {} : { error }) };
  }

  /** The voters and learners the leader (or, without one, most members) reports, if any member answers. */
  async configuration(): Promise<string[] | undefined> {
    const statuses = (await Promise.all(this.ids.map((id) => this.status(id, { timeoutMs: 2_000 })))).filter((s) => s !== undefined);
    const leader = statuses.find((s) => s.role === 'leader') ?? statuses[0];
    return leader?.members.map((m) => m.id).sort();
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
    const brokerFailed: { id: string; error: string }[] = [];
    let brokerRestarted = false;
    if (this.broker !== undefined && !this.broker.running) {
      try {
        await this.broker.start();
        brokerRestarted = true;
      } catch (error) {
        brokerFailed.push({ id: BROKER_ID, error: error instanceof Error ? error.message : String(error) });
      }
    }
    const stopped = this.ids.map((id) => this.nodes.get(id)!).filter((node) => !node.running);
    const results = await Promise.allSettled(stopped.map((node) => node.start()));
    const failed = results.flatMap((result, i) =>
      result.status === 'rejected' ? [{ id: stopped[i]!.id, error: result.reason instanceof Error ? result.reason.message : String(result.reason) }] : [],
    );
    const restarted = stopped.map((node) => node.id).filter((id) => !failed.some((f) => f.id === id));
    return { restarted: brokerRestarted ? [BROKER_ID, ...restarted] : restarted, failed: [...brokerFailed, ...failed] };
  }

  /** Stops every node (SIGCONT first where paused), unmounts the disks and removes the network. Idempotent. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    await this.#statusClient.close();
    await Promise.all([...this.nodes.values()].map((node) => node.stop(3_000)));
    await this.broker?.stop(3_000);
    await Promise.all([...this.nodes.values()].map((node) => node.close()));
    await this.broker?.close();
    if (this.#tmpfs) for (const disk of this.#disks.values()) await run(['umount', '-l', disk]).catch(() => undefined);
    process.off('exit', this.#onExit);
    await this.lab?.destroy();
  }

  #unmountSync(): void {
    for (const node of [...this.nodes.values(), ...(this.broker === undefined ? [] : [this.broker])]) {
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

