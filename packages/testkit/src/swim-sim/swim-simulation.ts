import {
  SeededRandom,
  SwimNode,
  VirtualClock,
  swimConfig,
  type MemberEvent,
  type NodeId,
  type SwimConfig,
} from '@synod/core';
import { MemoryNetwork, type LinkFaults } from '@synod/transport-memory';
import { QosRecorder } from './detection-metrics.js';
import { runSlowScript, runStallScript, type ScriptHost, type SlowScript, type StallScript } from './fault-scripts.js';
import { SimProcess } from './sim-process.js';

/** Options of a {@link SwimSimulation}. */
export interface SwimSimulationOptions {
  /** Members created up front, named `m0` … `m(N-1)`. */
  readonly members: number;
  /** Seeds the network, every member and the fault scripts. @default 1 */
  readonly seed?: number;
  /** SWIM tuning of every member. @default swimConfig('lan') */
  readonly config?: SwimConfig;
  /** Loss, delay, duplication and reordering on every link. @default 1 ms, no loss */
  readonly faults?: LinkFaults;
}

/** One member event as the simulation saw it. */
export interface SimMemberEvent {
  /** The member whose view changed. */
  readonly observer: NodeId;
  readonly event: MemberEvent;
}

/** Totals of member events and refutations since the simulation started (or {@link SwimSimulation.resetCounters}). */
export interface SwimEventCounts {
  alive: number;
  suspect: number;
  dead: number;
  left: number;
  refuted: number;
}

/** SWIM messages sent, in total and by message type, over a window. */
export interface SwimLoad {
  readonly members: number;
  readonly windowMs: number;
  /** Protocol periods in the window (window / probe interval). */
  readonly periods: number;
  readonly messages: number;
  readonly bytes: number;
  readonly byType: Readonly<Record<string, number>>;
  readonly messagesPerMemberPerPeriod: number;
  readonly bytesPerMemberPerPeriod: number;
}

const noop = (): void => undefined;

/**
 * A SWIM cluster on the in-memory transport and a virtual clock, with the
 * faults a failure detector has to live with: loss, delay and jitter,
 * partitions, crashes, members that stall (no timers, no message handling for
 * a while, like a GC pause or SIGSTOP) and members that are slow to handle
 * what they receive. It records what every member concludes about every
 * other into a {@link QosRecorder}, and counts messages for load figures.
 *
 * Every member runs in its own {@link SimProcess}, its view of the shared
 * clock, which is what lets a member be paused while the others run on. A
 * run depends only on its seed.
 *
 * @example
 * ```ts
 * const sim = new SwimSimulation({ members: 100, seed: 7, faults: { dropRate: 0.05 } });
 * sim.bootstrap();
 * const qos = sim.startMeasuring();
 * sim.stallRandomly({ members: ['m1', 'm2'], meanIntervalMs: 20_000, minMs: 2_000, maxMs: 5_000 });
 * sim.crash('m9');
 * sim.run(120_000);
 * const report = qos.report(sim.clock.now(), sim.ids);
 * ```
 */
export class SwimSimulation {
  readonly clock = new VirtualClock();
  readonly network: MemoryNetwork;
  readonly config: SwimConfig;
  /** Randomness for fault scripts; members and the network have their own streams. */
  readonly random: SeededRandom;
  readonly #memberRandom: SeededRandom;
  readonly #nodes = new Map<NodeId, SwimNode>();
  readonly #processes = new Map<NodeId, SimProcess>();
  readonly #crashed = new Set<NodeId>();
  readonly #anomalous = new Set<NodeId>();
  readonly #listeners = new Set<(event: SimMemberEvent) => void>();
  #qos: QosRecorder | undefined;
  #counts: SwimEventCounts = { alive: 0, suspect: 0, dead: 0, left: 0, refuted: 0 };
  #bytesByType = new Map<string, { messages: number; bytes: number }>();
  #loadSinceMs = 0;
  readonly #scriptHost: ScriptHost;

  constructor(options: SwimSimulationOptions) {
    const seed = options.seed ?? 1;
    this.config = options.config ?? swimConfig('lan');
    this.random = new SeededRandom(seed * 2654435761);
    this.#memberRandom = new SeededRandom(seed * 40503 + 17);
    this.#scriptHost = {
      clock: this.clock,
      random: this.random,
      process: (id) => this.process(id),
      isCrashed: (id) => this.#crashed.has(id),
    };
    this.network = new MemoryNetwork({
      clock: this.clock,
      random: new SeededRandom(seed),
      clusterId: 'swim-sim',
      faults: options.faults,
    });
    this.network.observe((event) => {
      if (event.type !== 'send' || event.envelope.protocol !== 'swim') return;
      const payload = event.envelope.payload as { readonly type?: unknown };
      const type = typeof payload.type === 'string' ? payload.type : 'unknown';
      const entry = this.#bytesByType.get(type) ?? { messages: 0, bytes: 0 };
      entry.messages++;
      entry.bytes += event.bytes;
      this.#bytesByType.set(type, entry);
    });
    for (let i = 0; i < options.members; i++) this.#create(`m${i}`);
  }

  /** Ids of every member ever created, crashed ones included. */
  get ids(): NodeId[] {
    return [...this.#nodes.keys()];
  }

  /** Ids of members that have not crashed. */
  get running(): NodeId[] {
    return this.ids.filter((id) => !this.#crashed.has(id));
  }

  node(id: NodeId): SwimNode {
    const node = this.#nodes.get(id);
    if (node === undefined) throw new RangeError(`no member ${id}`);
    return node;
  }

  process(id: NodeId): SimProcess {
    const process = this.#processes.get(id);
    if (process === undefined) throw new RangeError(`no member ${id}`);
    return process;
  }

  /** Member events and refutations counted so far. */
  get counts(): Readonly<SwimEventCounts> {
    return this.#counts;
  }

  resetCounters(): void {
    this.#counts = { alive: 0, suspect: 0, dead: 0, left: 0, refuted: 0 };
  }

  /** Calls `listener` for every member event of every member. Returns an unsubscribe function. */
  onMemberEvent(listener: (event: SimMemberEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Every member joins through `m0`, then time runs until every member sees
   * every other one alive.
   *
   * @returns the virtual time it took, in ms
   * @throws Error when the members have not converged within `maxMs`
   */
  bootstrap(maxMs = 600_000): number {
    const start = this.clock.now();
    const seed = this.ids[0];
    if (seed === undefined) return 0;
    for (const id of this.ids) if (id !== seed) this.#join(id, [seed]);
    this.runUntil(() => this.converged(), maxMs, this.config.probeIntervalMs);
    return this.clock.now() - start;
  }

  /** Adds a member that joins through `seed`; returns its id. */
  addMember(seed: NodeId, id: NodeId = `m${this.#nodes.size}`): NodeId {
    this.#create(id);
    this.#join(id, [seed]);
    return id;
  }

  /** Moves virtual time forward by `ms`. */
  run(ms: number): void {
    this.clock.advance(ms);
  }

  /**
   * Advances time in steps of `stepMs` until `done()` holds.
   * @returns the virtual time it took
   * @throws Error when `maxMs` passes first
   */
  runUntil(done: () => boolean, maxMs: number, stepMs = 50): number {
    const start = this.clock.now();
    while (!done()) {
      if (this.clock.now() - start >= maxMs) throw new Error(`condition not met within ${maxMs} ms of virtual time`);
      this.clock.advance(stepMs);
    }
    return this.clock.now() - start;
  }

  /** True when each of `ids` (default: the running members) sees exactly `ids`, all alive. */
  converged(ids: readonly NodeId[] = this.running): boolean {
    // The O(1) count first; the full scan is O(N) per member.
    for (const id of ids) if (this.node(id).core.liveMembers !== ids.length) return false;
    const wanted = new Set(ids);
    for (const id of ids) {
      let alive = 0;
      for (const member of this.node(id).members()) if (member.state === 'alive' && wanted.has(member.id)) alive++;
      if (alive !== ids.length) return false;
    }
    return true;
  }

  /** How many of `observers` (default: running members) see `subject` in `state`. */
  countViews(subject: NodeId, state: MemberEvent['type'], observers: readonly NodeId[] = this.running): number {
    let count = 0;
    for (const id of observers) if (id !== subject && this.node(id).member(subject)?.state === state) count++;
    return count;
  }

  /**
   * Starts a measured window: a fresh {@link QosRecorder} that every member
   * event feeds from now on, and fresh message counters.
   */
  startMeasuring(): QosRecorder {
    const qos = new QosRecorder(this.clock.now());
    for (const id of this.#crashed) qos.crashed(id, -1);
    for (const id of this.#anomalous) qos.anomalous(id);
    this.#qos = qos;
    this.network.resetStats();
    this.#bytesByType = new Map();
    this.#loadSinceMs = this.clock.now();
    this.resetCounters();
    return qos;
  }

  /** The recorder of the current window, if one was started. */
  get qos(): QosRecorder | undefined {
    return this.#qos;
  }

  /** SWIM messages sent since {@link startMeasuring}, per member and protocol period. */
  load(): SwimLoad {
    const windowMs = this.clock.now() - this.#loadSinceMs;
    const members = this.running.length;
    const periods = windowMs / this.config.probeIntervalMs;
    let messages = 0;
    let bytes = 0;
    const byType: Record<string, number> = {};
    for (const [type, entry] of this.#bytesByType) {
      messages += entry.messages;
      bytes += entry.bytes;
      byType[type] = entry.messages;
    }
    const denominator = members * periods;
    return {
      members,
      windowMs,
      periods,
      messages,
      bytes,
      byType,
      messagesPerMemberPerPeriod: denominator > 0 ? messages / denominator : 0,
      bytesPerMemberPerPeriod: denominator > 0 ? bytes / denominator : 0,
    };
  }

  // ------------------------------------------------------------ faults

  /** The member's process dies: it stops, and the network loses what is in flight to it. */
  crash(id: NodeId): void {
    if (this.#crashed.has(id)) return;
    this.#crashed.add(id);
    this.network.crash(id);
    this.node(id).stop();
    this.#qos?.crashed(id, this.clock.now());
  }

  /** Pauses the member's process for `durationMs` (see {@link SimProcess.stall}). */
  stall(id: NodeId, durationMs: number): void {
    this.#markAnomalous(id);
    this.process(id).stall(durationMs);
  }

  /** Makes the member handle every message `lagMs` after it arrives (0 makes it healthy again). */
  setInboundLag(id: NodeId, lagMs: number): void {
    if (lagMs > 0) this.#markAnomalous(id);
    this.process(id).inboundLagMs = lagMs;
  }

  /** Splits the network (see `MemoryNetwork.partition`). */
  partition(groups: readonly (readonly NodeId[])[]): void {
    this.network.partition(groups);
  }

  /** Removes partitions and cuts; loss and delay stay. */
  heal(): void {
    this.network.heal();
  }

  /** Replaces loss, delay and jitter on every link. */
  setFaults(faults: LinkFaults): void {
    this.network.setFaults(faults);
  }

  /**
   * Runs a seeded stall script until `untilMs` (virtual time): each member
   * of the script stalls again and again, with exponential gaps.
   */
  stallRandomly(script: StallScript, untilMs = Number.POSITIVE_INFINITY): void {
    for (const id of script.members) this.#markAnomalous(id);
    runStallScript(this.#scriptHost, script, untilMs);
  }

  /**
   * Runs a seeded script of slow episodes until `untilMs` (virtual time):
   * during an episode the member handles every message late by a lag drawn
   * for that episode (see {@link SimProcess.inboundLagMs}).
   */
  slowRandomly(script: SlowScript, untilMs = Number.POSITIVE_INFINITY): void {
    for (const id of script.members) this.#markAnomalous(id);
    runSlowScript(this.#scriptHost, script, untilMs);
  }

  // ---------------------------------------------------------- internals

  #create(id: NodeId): void {
    if (this.#nodes.has(id)) throw new RangeError(`member ${id} exists`);
    const process = new SimProcess(id, this.clock);
    const transport = this.network.endpoint(id);
    const node = new SwimNode({
      transport,
      clock: process,
      random: this.#memberRandom.fork(),
      clusterId: 'swim-sim',
      config: this.config,
    });
    transport.setHandler((envelope) => process.deliver(() => void node.handleEnvelope(envelope)));
    for (const type of ['alive', 'suspect', 'dead', 'left'] as const) {
      node.on(type, (event) => this.#record(id, event));
    }
    node.on('refuted', () => {
      this.#counts.refuted++;
    });
    this.#nodes.set(id, node);
    this.#processes.set(id, process);
    node.start();
  }

  #markAnomalous(id: NodeId): void {
    this.#anomalous.add(id);
    this.#qos?.anomalous(id);
  }

  #join(id: NodeId, seeds: readonly NodeId[]): void {
    // Joins are retried every probe interval until a seed answers; the
    // promise only tells when, and a stop rejects it, which is expected here.
    this.node(id).join(seeds, { timeoutMs: 3_600_000 }).then(noop, noop);
  }

  #record(observer: NodeId, event: MemberEvent): void {
    this.#counts[event.type]++;
    const qos = this.#qos;
    if (qos !== undefined) {
      const subject = event.member.id;
      switch (event.type) {
        case 'alive':
          qos.up(observer, subject, event.atMs);
          break;
        case 'suspect':
          qos.suspected(observer, subject, event.atMs);
          break;
        case 'dead':
        case 'left':
          qos.down(observer, subject, event.atMs);
          break;
      }
    }
    if (this.#listeners.size > 0) for (const listener of this.#listeners) listener({ observer, event });
  }
}
