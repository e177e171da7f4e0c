import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, SeededRandom, systemClock, type NodeId } from '@synod/core';
import type { LinkFault, MemberStatus } from '@synod/protocol';
import { freePorts, type CommandIo } from '@synod/testkit';
import { SynodClient } from '@synod/transport-grpc';
import { SynodNatsClient } from '@synod/transport-nats';
import { NatsServer } from '@synod/transport-nats/nats-server';
import { StartupProgress } from '../server/startup-progress.js';
import type { DemoBackend } from './demo-backend.js';
import type { DashboardFrame, DemoAlgorithm, DemoControl, LinkFrame, NodeFrame, NodeHealth, PhiFrame, SwimFrame, TimelineEntry, TimelineKind } from './dashboard-types.js';
import { MAX_DEMO_NODES } from './demo-cluster.js';
import { DemoWorkload, type WorkloadTarget } from './demo-workload.js';
import { LinkFaultPlan } from './link-fault-plan.js';
import { PHI_THRESHOLD } from './detector-view.js';

/** Options of {@link ProcessDemoCluster.start}. */
export interface ProcessDemoOptions {
  readonly transport: 'grpc' | 'nats';
  /** What the nodes run (`synod serve --algorithm`). @default 'raft' */
  readonly algorithm?: DemoAlgorithm;
  /** Voters, 1 to 9. */
  readonly nodes: number;
  readonly seed: number;
  /** Raft tick of the nodes, ms. @default 50 */
  readonly tickMs?: number;
  /** Where start-up progress and the nodes' failures are reported. */
  readonly io: CommandIo;
}

const PAXOS_NO_ADD =
  'Multi-Paxos replicates no member address with a configuration change (its AddMember with an address is refused), so the other serve processes could not reach a new one';

/** What a real-process demo cannot do, as the page shows it: adding a member to Multi-Paxos. */
export function processDemoUnavailable(algorithm: DemoAlgorithm): Readonly<Partial<Record<DemoControl, string>>> {
  return algorithm === 'paxos' ? { add: PAXOS_NO_ADD } : {};
}

const STATUS_INTERVAL_MS = 200;
const TRAFFIC_INTERVAL_MS = 1000;
const CALL_TIMEOUT_MS = 3000;
/** Longest a membership change may take: a joining node catches up from a snapshot first. */
const MEMBERSHIP_TIMEOUT_MS = 20_000;
const TIMELINE_LENGTH = 200;

interface Member {
  readonly id: NodeId;
  /** gRPC `host:port`, or the id over NATS. */
  readonly endpoint: string;
  readonly metricsPort: number;
  /** Added by the demo: started (and restarted) with `--join`. */
  readonly joined: boolean;
  /** Removed from the configuration and stopped; shown, never started again. */
  removed: boolean;
  child: ChildProcess | undefined;
  /** The current process said it serves (its Cluster API answers). */
  serving: boolean;
  status: MemberStatus | undefined;
  pausedUntil: number | undefined;
  /** Messages sent to each peer at the last scrape, and when. */
  sent: { readonly at: number; readonly totals: Map<string, number> } | undefined;
  /** Messages per second to each peer over the last scrape interval. */
  rates: Map<string, number>;
}

/** The client calls the demo makes, over gRPC or NATS. */
interface DemoClient {
  memberStatus(endpoint: string, options: { timeoutMs: number }): Promise<MemberStatus>;
  transferLeadership(endpoint: string, target: string, options: { timeoutMs: number }): Promise<string>;
  setLinkFaults(endpoint: string, faults: readonly LinkFault[], options: { timeoutMs: number }): Promise<unknown>;
  addMember(id: string, address: string, options: { timeoutMs: number }): Promise<unknown>;
  removeMember(id: string, options: { timeoutMs: number }): Promise<unknown>;
  put(key: string, value: string, options: { timeoutMs: number }): Promise<unknown>;
  get(key: string, options: { timeoutMs: number }): Promise<{ readonly kv: { readonly value: string } | undefined }>;
  close(): void | Promise<void>;
}

/**
 * The demo cluster as real `synod serve` processes (FileStorage with fsync,
 * SWIM beside Raft or Multi-Paxos) over gRPC on loopback or through a
 * nats-server it starts, driven through their Cluster API: the same
 * dashboard as the in-process demo, fed by each node's Cluster/Status (role,
 * term, indexes, snapshot index, its SWIM view and phi) and its Prometheus
 * metrics (messages per link).
 *
 * Crash is SIGKILL, restart spawns the node again on its data, pause is
 * SIGSTOP then SIGCONT, and leadership moves with Cluster/TransferLeadership.
 * The nodes run with `--fault-hooks`: isolating a node, partitioning, and
 * cutting or slowing a link set each node's link faults through
 * Cluster/SetLinkFaults (a node that restarts or resumes gets its faults
 * again). Adding a member starts `synod serve --join` and asks the leader
 * (Cluster/AddMember with its address); removing one asks the leader, then
 * stops the process. Multi-Paxos cannot add members here (see
 * {@link processDemoUnavailable}).
 *
 * @example
 * ```ts
 * const cluster = await ProcessDemoCluster.start({ transport: 'grpc', nodes: 3, seed: 1, io });
 * const dashboard = await startDashboard(cluster, { port: 7070 });
 * ```
 */
export class ProcessDemoCluster implements DemoBackend {
  readonly algorithm: DemoAlgorithm;
  readonly transport: 'grpc' | 'nats';
  readonly seed: number;
  readonly #dir: string;
  readonly #tickMs: number;
  readonly #io: CommandIo;
  readonly #members = new Map<NodeId, Member>();
  readonly #client: DemoClient;
  readonly #nats: NatsServer | undefined;
  readonly #workload: DemoWorkload;
  readonly #timeline: TimelineEntry[] = [];
  readonly #startedAt = systemClock.now();
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  /** observer>member@incarnation already put on the timeline as dead */
  readonly #swimDeaths = new Set<string>();
  readonly #faults = new LinkFaultPlan();
  /** Link-fault pushes run one after another, so a node never ends with an older set. */
  #pushing: Promise<void> = Promise.resolve();
  #changingMembership = false;
  #lastLeader: { readonly id: NodeId; readonly term: number } | undefined;
  #leaderChanges = 0;
  #polling = false;
  #stopping = false;

  private constructor(options: ProcessDemoOptions, dir: string, ports: readonly number[], nats: NatsServer | undefined) {
    this.transport = options.transport;
    this.algorithm = options.algorithm ?? 'raft';
    this.seed = options.seed;
    this.#dir = dir;
    this.#tickMs = options.tickMs ?? 50;
    this.#io = options.io;
    this.#nats = nats;
    for (let i = 0; i < options.nodes; i++) {
      const id = `n${i + 1}`;
      const endpoint = nats === undefined ? `127.0.0.1:${ports[2 * i]}` : id;
      this.#members.set(id, this.#newMember(id, endpoint, ports[2 * i + 1]!, false));
    }
    this.#client =
      nats === undefined
        ? new SynodClient({ endpoints: [...this.#members.values()].map((m) => m.endpoint), security: { insecure: true }, timeoutMs: 1_000, attemptTimeoutMs: 500 })
        : new SynodNatsClient({ servers: nats.url, clusterId: 'demo', timeoutMs: 1_000, attemptTimeoutMs: 500 });
    this.#workload = new DemoWorkload({
      clock: systemClock,
      random: new SeededRandom(options.seed),
      target: () => (this.leader() === undefined ? undefined : this.#workloadTarget),
      elapsed: () => this.#elapsed(),
    });
  }

  #newMember(id: NodeId, endpoint: string, metricsPort: number, joined: boolean): Member {
    return { id, endpoint, metricsPort, joined, removed: false, child: undefined, serving: false, status: undefined, pausedUntil: undefined, sent: undefined, rates: new Map() };
  }

  /**
   * Starts the nodes (and a nats-server for NATS) and resolves once every
   * node serves and one leads. Rejects, with everything started stopped
   * again, when that fails (nats-server missing, a node exits).
   */
  static async start(options: ProcessDemoOptions): Promise<ProcessDemoCluster> {
    if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > MAX_DEMO_NODES) {
      throw new InvalidArgumentError(`nodes must be an integer from 1 to ${MAX_DEMO_NODES}, got ${options.nodes}`);
    }
    if (options.algorithm !== undefined && options.algorithm !== 'raft' && options.algorithm !== 'paxos') {
      throw new InvalidArgumentError(`algorithm must be raft or paxos, got '${String(options.algorithm)}'`);
    }
    const nats = options.transport === 'nats' ? await NatsServer.start() : undefined;
    const dir = mkdtempSync(join(tmpdir(), `synod-demo-${options.transport}-`));
    const cluster = new ProcessDemoCluster(options, dir, await freePorts(2 * options.nodes), nats);
    try {
      await cluster.#startAll();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    cluster.#timers.push(setInterval(() => void cluster.#poll(), STATUS_INTERVAL_MS));
    cluster.#timers.push(setInterval(() => void cluster.#scrapeTraffic(), TRAFFIC_INTERVAL_MS));
    return cluster;
  }

  get ids(): readonly NodeId[] {
    return [...this.#members.keys()];
  }

  get leaderChanges(): number {
    return this.#leaderChanges;
  }

  /** Where the nats-server listens (NATS only). */
  get natsUrl(): string | undefined {
    return this.#nats?.url;
  }

  readonly #workloadTarget: WorkloadTarget = {
    put: async (key, value, timeoutMs) => {
      await this.#client.put(key, value, { timeoutMs });
    },
    get: async (key, timeoutMs) => (await this.#client.get(key, { timeoutMs })).kv?.value ?? null,
  };

  #elapsed(): number {
    return systemClock.now() - this.#startedAt;
  }

  #log(kind: TimelineKind, text: string): void {
    this.#timeline.push({ atMs: this.#elapsed(), kind, text });
    if (this.#timeline.length > TIMELINE_LENGTH) this.#timeline.shift();
  }

  async #startAll(): Promise<void> {
    const startup = new StartupProgress(this.#io, this.ids, 'synod demo');
    await Promise.all(this.ids.map((id) => this.#spawn(id, (line) => startup.observe(id, line))));
    // Serving is not leading: wait for the first election as the dashboard will show it.
    // Generous: on a loaded machine the first election among fresh processes can take a while.
    const deadline = Date.now() + 60_000;
    while (!startup.ready) {
      if (Date.now() > deadline) {
        startup.finish();
        throw new Error('no leader was elected within 60 s');
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await this.#poll();
  }

  /** Spawns `synod serve` for `id`; resolves once it serves. */
  #spawn(id: NodeId, onLine: (line: string) => void = () => undefined): Promise<void> {
    const member = this.#member(id);
    // Every member not removed: founders find each other, a joiner finds someone to join through.
    const others = [...this.#members.values()].filter((m) => m.id !== id && !m.removed);
    const network =
      this.#nats === undefined
        ? ['--listen', member.endpoint, '--peers', others.map((m) => `${m.id}=${m.endpoint}`).join(','), '--insecure']
        : ['--transport', 'nats', '--nats-url', this.#nats.url, '--peers', others.map((m) => m.id).join(',')];
    const args = [
      fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../../dist/bin.js' : '../bin.js', import.meta.url)),
      'serve',
      '--id', id,
      ...network,
      '--data', join(this.#dir, id),
      '--cluster-id', 'demo',
      '--tick-ms', String(this.#tickMs),
      '--snapshot-entries', '2000',
      '--swim', 'local',
      '--metrics-listen', `127.0.0.1:${member.metricsPort}`,
      '--log-format', 'json',
      // Demos only: the isolate, partition and link controls go through Cluster/SetLinkFaults.
      '--fault-hooks',
      ...(this.algorithm === 'paxos' ? ['--algorithm', 'paxos'] : []),
      ...(member.joined ? ['--join'] : []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    member.child = child;
    let output = '';
    return new Promise<void>((resolve, reject) => {
      let serving = false;
      const reader = (): ((chunk: Buffer) => void) => {
        let rest = '';
        return (chunk) => {
          const text = chunk.toString('utf8');
          if (!serving) output += text;
          const lines = (rest + text).split('\n');
          rest = lines.pop() ?? '';
          for (const line of lines) onLine(line);
          if (!serving && output.includes(`${id} serving cluster`)) {
            serving = true;
            if (member.child === child) member.serving = true;
            output = '';
            resolve();
          }
        };
      };
      child.stdout.on('data', reader());
      child.stderr.on('data', reader());
      child.once('exit', (code, signal) => {
        if (member.child === child) {
          member.child = undefined;
          member.serving = false;
          member.status = undefined;
          if (!this.#stopping && !member.removed && serving) this.#log('fault', `${id} exited (${signal ?? `code ${code}`})`);
        }
        if (!serving) reject(new Error(`${id} exited (${signal ?? `code ${code}`}) before serving:\n${output.slice(-2000)}`));
      });
    });
  }

  #member(id: NodeId): Member {
    const member = this.#members.get(id);
    if (member === undefined) throw new InvalidArgumentError(`no node '${id}' in this demo (nodes: ${this.ids.join(', ')})`);
    if (member.removed) throw new InvalidArgumentError(`node '${id}' was removed from the cluster`);
    return member;
  }

  /** Members not removed. */
  #present(): Member[] {
    return [...this.#members.values()].filter((m) => !m.removed);
  }

  #running(id: NodeId): Member {
    const member = this.#member(id);
    if (member.child === undefined) throw new InvalidArgumentError(`node '${id}' is down`);
    return member;
  }

  /** Reads every running node's status; keeps the last answer of a node that does not answer (paused). */
  async #poll(): Promise<void> {
    if (this.#polling || this.#stopping) return;
    this.#polling = true;
    try {
      await Promise.all(
        [...this.#members.values()]
          .filter((member) => member.child !== undefined && member.pausedUntil === undefined)
          .map(async (member) => {
            try {
              const status = await this.#client.memberStatus(member.endpoint, { timeoutMs: STATUS_INTERVAL_MS * 2 });
              if (member.child !== undefined) member.status = status;
            } catch {
              // Starting, stopping or overloaded: the next poll asks again.
            }
          }),
      );
      this.#noteElections();
    } finally {
      this.#polling = false;
    }
  }

  #noteElections(): void {
    const leader = this.#leaderStatus();
    if (leader !== undefined && (this.#lastLeader === undefined || this.#lastLeader.id !== leader.id || this.#lastLeader.term !== leader.term)) {
      if (this.#lastLeader !== undefined && this.#lastLeader.id !== leader.id) this.#leaderChanges++;
      this.#lastLeader = { id: leader.id, term: leader.term };
      this.#log('election', `${leader.id} elected leader (${this.algorithm === 'raft' ? 'term' : 'ballot round'} ${leader.term})`);
    }
    for (const member of this.#members.values()) {
      for (const view of member.status?.swim ?? []) {
        const key = `${view.id}@${view.incarnation}`;
        if (view.state !== 'dead' || this.#swimDeaths.has(key)) continue;
        this.#swimDeaths.add(key);
        this.#log('fault', `SWIM: ${member.id} declares ${view.id} dead`);
      }
    }
  }

  /** Messages per second on each link, from each node's `synod_transport_sent_messages_total`. */
  async #scrapeTraffic(): Promise<void> {
    await Promise.all(
      [...this.#members.values()].map(async (member) => {
        if (member.child === undefined || member.pausedUntil !== undefined) {
          member.rates = new Map();
          member.sent = undefined;
          return;
        }
        try {
          const response = await fetch(`http://127.0.0.1:${member.metricsPort}/metrics`, { signal: AbortSignal.timeout(TRAFFIC_INTERVAL_MS) });
          const totals = sentMessages(await response.text());
          const at = systemClock.now();
          const previous = member.sent;
          if (previous !== undefined && at > previous.at) {
            member.rates = new Map([...totals].map(([peer, total]) => [peer, Math.max(0, Math.round(((total - (previous.totals.get(peer) ?? 0)) * 1000) / (at - previous.at)))]));
          }
          member.sent = { at, totals };
        } catch {
          member.rates = new Map();
        }
      }),
    );
  }

  #leaderStatus(): MemberStatus | undefined {
    let best: MemberStatus | undefined;
    for (const member of this.#members.values()) {
      const status = member.status;
      if (member.child === undefined || member.pausedUntil !== undefined || status?.role !== 'leader') continue;
      if (best === undefined || status.term > best.term) best = status;
    }
    return best;
  }

  leader(): NodeId | undefined {
    return this.#leaderStatus()?.id;
  }

  async crash(id: NodeId): Promise<void> {
    const member = this.#running(id);
    const child = member.child!;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    member.child = undefined;
    member.serving = false;
    member.status = undefined;
    member.pausedUntil = undefined;
    this.#log('fault', `${id} crashed (SIGKILL)`);
    child.kill('SIGKILL');
    await exited;
  }

  async restart(id: NodeId): Promise<void> {
    const member = this.#member(id);
    if (member.child !== undefined) throw new InvalidArgumentError(`node '${id}' is already up`);
    this.#log('fault', `${id} restarting`);
    await this.#spawn(id);
    this.#log('fault', `${id} restarted`);
    // Its link faults lived in the process that died.
    await this.#pushFaults([id]);
  }

  /** SIGSTOP, then SIGCONT after `ms`: a stop-the-world pause of the whole process. */
  pause(id: NodeId, ms = 2000): void {
    const member = this.#running(id);
    if (!Number.isInteger(ms) || ms < 100 || ms > 10_000) throw new InvalidArgumentError(`pause must be an integer from 100 to 10000 ms, got ${ms}`);
    const child = member.child!;
    const until = systemClock.now() + ms;
    member.pausedUntil = until;
    child.kill('SIGSTOP');
    this.#log('fault', `${id} paused for ${ms} ms (SIGSTOP)`);
    setTimeout(() => {
      if (member.pausedUntil !== until) return;
      member.pausedUntil = undefined;
      if (member.child === child) {
        child.kill('SIGCONT');
        this.#log('fault', `${id} resumed (SIGCONT)`);
        // Faults changed during the pause could not reach it.
        this.#pushFaults([id]).catch(() => undefined);
      }
    }, ms);
  }

  async transferLeadership(target: NodeId): Promise<void> {
    this.#running(target);
    const leader = this.#leaderStatus();
    if (leader === undefined) throw new InvalidArgumentError('no leader to hand over from; wait for one');
    if (leader.id === target) throw new InvalidArgumentError(`${target} is already the leader`);
    this.#log('election', `leadership transfer to ${target} requested`);
    await this.#client.transferLeadership(this.#member(leader.id).endpoint, target, { timeoutMs: CALL_TIMEOUT_MS });
  }

  /** Cuts every link to and from `id` until {@link heal}. */
  isolate(id: NodeId): Promise<void> {
    this.#member(id);
    this.#faults.isolate(id);
    this.#log('fault', `${id} cut off from the others`);
    return this.#pushFaults();
  }

  /**
   * Splits the network into `groups`; nodes named in no group form one more
   * group together. Replaces an earlier partition.
   * @throws InvalidArgumentError for unknown nodes, a node in two groups, or no non-empty group
   */
  partition(groups: readonly (readonly NodeId[])[]): Promise<void> {
    for (const id of groups.flat()) this.#member(id);
    const named = this.#faults.partition(groups);
    const rest = this.#present()
      .map((m) => m.id)
      .filter((id) => !named.some((group) => group.includes(id)));
    const shown = rest.length > 0 ? [...named, rest] : named;
    this.#log('fault', `partition ${shown.map((g) => `{${g.join(' ')}}`).join(' | ')}`);
    return this.#pushFaults();
  }

  /** Cuts the link between `a` and `b` in both directions. */
  dropLink(a: NodeId, b: NodeId): Promise<void> {
    this.#member(a);
    this.#member(b);
    this.#faults.drop(a, b);
    this.#log('fault', `link ${a} - ${b} cut`);
    return this.#pushFaults([a, b]);
  }

  /** Delays every message between `a` and `b` by `ms` (both directions); 0 removes the delay. */
  delayLink(a: NodeId, b: NodeId, ms: number): Promise<void> {
    this.#member(a);
    this.#member(b);
    this.#faults.delay(a, b, ms);
    this.#log('fault', ms === 0 ? `link ${a} - ${b} back to normal speed` : `link ${a} - ${b} delayed by ${ms} ms`);
    return this.#pushFaults([a, b]);
  }

  /** Removes every partition, cut link, isolation and link delay. Crashed nodes stay down. */
  heal(): Promise<void> {
    this.#faults.heal();
    this.#log('fault', 'network healed');
    return this.#pushFaults();
  }

  /**
   * Sends each running node in `ids` (default: all) its faults, after any
   * push still under way. Rejects naming the nodes that did not take them;
   * a paused or crashed node gets them when it resumes or restarts.
   */
  #pushFaults(ids?: readonly NodeId[]): Promise<void> {
    const push = async (): Promise<void> => {
      // A node still starting gets its faults once it serves (restart and addMember push them).
      const targets = this.#present().filter((m) => (ids === undefined || ids.includes(m.id)) && m.serving && m.pausedUntil === undefined);
      const failures: string[] = [];
      await Promise.all(
        targets.map(async (member) => {
          // A client channel to a node that just restarted may still be backing off: retry until the deadline.
          const deadline = systemClock.now() + CALL_TIMEOUT_MS;
          for (;;) {
            try {
              await this.#client.setLinkFaults(member.endpoint, this.#faults.faultsOf(member.id, this.#present().map((m) => m.id)), { timeoutMs: CALL_TIMEOUT_MS });
              return;
            } catch (error) {
              if (!member.serving || member.pausedUntil !== undefined) return;
              if (systemClock.now() >= deadline) {
                failures.push(`${member.id} (${error instanceof Error ? error.message : String(error)})`);
                return;
              }
              await new Promise((resolve) => setTimeout(resolve, 100));
            }
          }
        }),
      );
      if (failures.length > 0) throw new Error(`could not set the link faults of ${failures.join(', ')}`);
    };
    const next = this.#pushing.then(push, push);
    this.#pushing = next.catch(() => undefined);
    return next;
  }

  /**
   * Starts `synod serve --join` as a new node, then asks the leader to add
   * it as a voter (Cluster/AddMember with its address); it catches up from
   * the leader's snapshot. Resolves with its id once it is a voter.
   * @throws InvalidArgumentError with Multi-Paxos, at the size limit, without a leader, or during another change
   */
  async addMember(): Promise<NodeId> {
    if (this.algorithm === 'paxos') throw new InvalidArgumentError(`adding a member is not available: ${PAXOS_NO_ADD}`);
    if (this.#present().length >= MAX_DEMO_NODES) throw new InvalidArgumentError(`the demo holds at most ${MAX_DEMO_NODES} nodes`);
    const leader = this.#leaderStatus();
    if (leader === undefined) throw new InvalidArgumentError('no leader to add a member through; wait for one');
    if (this.#changingMembership) throw new InvalidArgumentError('another membership change is under way; wait for it');
    this.#changingMembership = true;
    try {
      const id = `n${this.#members.size + 1}`;
      const [port, metricsPort] = await freePorts(2);
      const member = this.#newMember(id, this.#nats === undefined ? `127.0.0.1:${port}` : id, metricsPort!, true);
      this.#members.set(id, member);
      try {
        await this.#spawn(id);
      } catch (error) {
        this.#members.delete(id);
        throw error;
      }
      // Its own faults, and the others learn of it (a cut on one end is enough, but both keep it cut across restarts).
      await this.#pushFaults().catch(() => undefined);
      this.#log('membership', `${id} started; asking ${leader.id} to add it as a voter`);
      try {
        // Over NATS members are reached by id; the address is only recorded.
        await this.#client.addMember(id, this.#nats === undefined ? member.endpoint : '', { timeoutMs: MEMBERSHIP_TIMEOUT_MS });
      } catch (error) {
        // The outcome may be unknown (a timeout): the configuration decides.
        if (!(await this.#inConfiguration(id))) {
          this.#log('membership', `adding ${id} failed; stopping it`);
          member.removed = true;
          await this.#stopProcess(member);
          throw error;
        }
      }
      this.#log('membership', `${id} is a voter`);
      return id;
    } finally {
      this.#changingMembership = false;
    }
  }

  /** Asks the leader to remove `id` from the configuration, then stops its process. */
  async removeMember(id: NodeId): Promise<void> {
    const member = this.#member(id);
    const leader = this.#leaderStatus();
    if (leader === undefined) throw new InvalidArgumentError('no leader to remove a member through; wait for one');
    if (leader.members.filter((m) => !m.learner && m.id !== id).length === 0) throw new InvalidArgumentError(`${id} is the last voter`);
    if (this.#changingMembership) throw new InvalidArgumentError('another membership change is under way; wait for it');
    this.#changingMembership = true;
    try {
      this.#log('membership', `asking ${leader.id} to remove ${id}`);
      try {
        await this.#client.removeMember(id, { timeoutMs: MEMBERSHIP_TIMEOUT_MS });
      } catch (error) {
        if (await this.#inConfiguration(id)) throw error;
      }
      member.removed = true;
      await this.#stopProcess(member);
      this.#log('membership', `${id} removed from the voters and stopped`);
    } finally {
      this.#changingMembership = false;
    }
  }

  /** Whether the leader's (or, without one, any node's) configuration lists `id`, read afresh. */
  async #inConfiguration(id: NodeId): Promise<boolean> {
    await this.#poll();
    const status = this.#leaderStatus() ?? this.#present().find((m) => m.status !== undefined)?.status;
    return status?.members.some((m) => m.id === id) === true;
  }

  /** SIGTERM (SIGCONT first if paused), SIGKILL after 5 s; resolves once the process is gone. */
  async #stopProcess(member: Member): Promise<void> {
    const child = member.child;
    if (child === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (member.pausedUntil !== undefined) child.kill('SIGCONT');
    member.pausedUntil = undefined;
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(kill);
    member.child = undefined;
    member.serving = false;
    member.status = undefined;
  }

  startWorkload(): void {
    if (this.#workload.running) return;
    this.#workload.start();
    this.#log('workload', 'workload started');
  }

  stopWorkload(): void {
    if (!this.#workload.running) return;
    this.#workload.stop();
    this.#log('workload', 'workload stopped');
  }

  async checkRecentWindow(timeoutMs?: number): Promise<void> {
    const before = this.#workload.verdict().verdict;
    const after = (await this.#workload.checkRecentWindow(timeoutMs)).verdict;
    if (after === 'not-linearizable' && before !== after) this.#log('workload', 'the checker found a NON-linearizable history');
  }

  htmlReport(): Promise<string> {
    return this.#workload.htmlReport();
  }

  /** Cut off from every other present node that is up. */
  #isCutOff(id: NodeId): boolean {
    if (this.#faults.isIsolated(id)) return true;
    const others = this.#present().filter((m) => m.id !== id && m.child !== undefined);
    return others.length > 0 && others.every((m) => this.#faults.isCut(id, m.id));
  }

  #health(member: Member): NodeHealth {
    if (member.removed) return 'removed';
    if (member.child === undefined) return 'down';
    if (member.pausedUntil !== undefined) return 'paused';
    return this.#isCutOff(member.id) ? 'isolated' : 'up';
  }

  frame(): DashboardFrame {
    const leaderStatus = this.#leaderStatus();
    const voters = new Set((leaderStatus?.members ?? []).filter((m) => !m.learner).map((m) => m.id));
    const nodes: NodeFrame[] = [...this.#members.values()].map((member) => {
      const status = member.status;
      const health = this.#health(member);
      if (member.child === undefined || status === undefined) {
        const role = health === 'removed' || health === 'down' ? health : 'starting';
        return { id: member.id, health, role, term: 0, leader: undefined, commitIndex: 0, appliedIndex: 0, logLength: 0, snapshotIndex: 0, voter: !member.removed && voters.has(member.id) };
      }
      return {
        id: member.id,
        health,
        role: status.role,
        term: status.term,
        leader: status.leaderId,
        commitIndex: status.commitIndex,
        appliedIndex: status.appliedIndex,
        logLength: Math.max(0, status.lastIndex - status.snapshotIndex),
        snapshotIndex: status.snapshotIndex,
        voter: voters.size === 0 || voters.has(member.id),
      };
    });
    const links: LinkFrame[] = [];
    const present = this.#present();
    for (const from of present) {
      for (const to of present) {
        if (to.id === from.id) continue;
        links.push({ from: from.id, to: to.id, perSecond: from.rates.get(to.id) ?? 0, cut: this.#faults.isCut(from.id, to.id), delayMs: this.#faults.delayOf(from.id, to.id) });
      }
    }
    const phi: PhiFrame[] = [];
    const swim: SwimFrame[] = [];
    for (const member of this.#members.values()) {
      if (member.child === undefined) continue;
      for (const view of member.status?.swim ?? []) {
        swim.push({ observer: member.id, member: view.id, state: swimState(view.state), incarnation: view.incarnation });
        if (view.id !== member.id && view.phi !== undefined) phi.push({ observer: member.id, peer: view.id, phi: Number.isFinite(view.phi) ? Math.round(view.phi * 100) / 100 : 99 });
      }
    }
    return {
      atMs: this.#elapsed(),
      algorithm: this.algorithm,
      transport: this.transport,
      unavailable: processDemoUnavailable(this.algorithm),
      detectorNote:
        `Each serve process runs SWIM beside ${this.algorithm === 'raft' ? 'Raft' : 'Multi-Paxos'} and a phi accrual detector fed by every message it receives from a peer (SWIM probes and ${this.algorithm === 'raft' ? 'Raft' : 'Paxos'} alike), read from its Cluster/Status. The dashed line is the suspicion threshold.`,
      seed: this.seed,
      leader: leaderStatus?.id,
      phiThreshold: PHI_THRESHOLD,
      nodes,
      links,
      phi,
      swim,
      workload: this.#workload.frame(),
      verdict: this.#workload.verdict(),
      timeline: this.#timeline.slice(-50),
    };
  }

  /** Stops the workload and every node (SIGTERM, SIGKILL after 5 s), the nats-server, and removes the data. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    for (const timer of this.#timers) clearInterval(timer);
    await this.#workload.close();
    await Promise.all([...this.#members.values()].map((member) => this.#stopProcess(member)));
    await this.#client.close();
    await this.#nats?.dispose();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

function swimState(state: string): SwimFrame['state'] {
  return state === 'suspect' || state === 'dead' || state === 'left' ? state : 'alive';
}

/** `synod_transport_sent_messages_total{peer="n2"} 123` lines → peer → total. */
export function sentMessages(metrics: string): Map<string, number> {
  const totals = new Map<string, number>();
  for (const match of metrics.matchAll(/^synod_transport_sent_messages_total\{peer="([^"]+)"\} (\d+(?:\.\d+)?(?:e\+?\d+)?)$/gm)) {
    totals.set(match[1]!, Number(match[2]));
  }
  return totals;
}
