import {
  encodeKvCommand,
  FileStorage,
  KvStateMachine,
  MultiPaxosNode,
  SeededRandom,
  VirtualClock,
  type KvQuery,
  type KvQueryResult,
  type KvResult,
  type Envelope,
  type NodeId,
  type PaxosMessage,
  type PaxosMutations,
  type PaxosNodeMutations,
  type Random,
  type Storage,
  type Transport,
} from '@synod/core';
import { createEnvelopeCodec } from '@synod/protocol';
import { MemoryNetwork, type LinkFaults } from '@synod/transport-memory';
import type { KvInput, KvOutput } from '../history/kv-ops.js';
import { HistoryRecorder } from '../history/recorder.js';
import type { History } from '../history/types.js';
import { checkLinearizability, type Verdict } from '../linearizability/checker.js';
import { kvModel } from '../linearizability/kv-model.js';
import { drainMicrotasks } from '../simulator/drive-clock.js';
import { KvWorkload } from '../simulator/kv-workload.js';
import { ObservedStorage } from '../simulator/observed-storage.js';
import type { SimStorageMode } from '../simulator/raft-simulation.js';
import { SimFileSystem } from '../simulator/sim-file-system.js';
import { SimStorage } from '../simulator/sim-storage.js';
import { PaxosInvariants, type PaxosViolation } from './paxos-invariants.js';

/** Deliberate bugs the simulator must catch (see the mutation tests). */
export interface PaxosSimMutations extends PaxosMutations, PaxosNodeMutations {}

/** What a Multi-Paxos simulation run needs. Everything random derives from `seed`. */
export interface PaxosSimulationOptions {
  readonly seed: number;
  /** Cluster size, 1 to 9. */
  readonly nodes: number;
  /** Scheduler events in the fault phase. */
  readonly steps: number;
  /** Inject faults during the fault phase. @default true */
  readonly faults?: boolean;
  /** Run KV clients and check their history. @default true */
  readonly workload?: boolean;
  /** Virtual time allowed after healing for a proposal to commit. @default 10000 */
  readonly livenessBoundMs?: number;
  /** Send every message through the protobuf envelope codec. @default true */
  readonly wireCodec?: boolean;
  /** Wall-clock budget of the linearizability check. @default 10000 */
  readonly checkBudgetMs?: number;
  /** `memory` (SimStorage) or `file` (FileStorage on simulated disks), as for Raft. @default 'memory' */
  readonly storage?: SimStorageMode;
  /** Phase-2 pipeline window of the leader. @default 8 (small, so the window fills under load) */
  readonly window?: number;
  /**
   * Random membership changes through the log during the fault phase: one
   * voter added or removed at a time, or one replaced in a single change,
   * among 9 possible nodes of which the first `nodes` start as voters.
   * @default false
   */
  readonly membership?: boolean;
  /** @internal */
  readonly mutations?: PaxosSimMutations;
}

export interface PaxosSimulationResult {
  readonly seed: number;
  readonly violations: readonly PaxosViolation[];
  readonly virtualTimeMs: number;
  readonly chosenSlots: number;
  readonly faultsInjected: number;
  readonly crashes: number;
  readonly operations: { readonly ok: number; readonly fail: number; readonly info: number };
  readonly linearizability: Verdict | 'not-checked';
  readonly history: History<KvInput, KvOutput>;
  /** File mode: crash recoveries of FileStorage. */
  readonly recoveries: number;
  /** Membership changes attempted (with `membership`). */
  readonly membershipChanges: number;
}

const TICK_MS = 10;
const ELECTION_TICKS = 10;
const SIM_SEGMENT_BYTES = 1024;

type SimPaxosNode = MultiPaxosNode<KvResult, KvQuery, KvQueryResult>;

/**
 * Runs one seeded Multi-Paxos simulation with the same faults as the Raft
 * simulator (drops, delays, duplicates, reordering, partitions, one-way
 * cuts, isolating the leader, crash-restart losing unsynced writes), a KV
 * workload whose history is checked for linearizability, and the Paxos
 * invariants of {@link PaxosInvariants} checked as the run goes. Then it
 * heals everything and checks that a proposal commits.
 *
 * @example
 * ```ts
 * const result = await simulatePaxos({ seed: 7, nodes: 5, steps: 3000 });
 * if (result.violations.length > 0) console.log(result.violations);
 * ```
 */
export async function simulatePaxos(options: PaxosSimulationOptions): Promise<PaxosSimulationResult> {
  return new PaxosSimulation(options).run();
}

class PaxosSimulation {
  readonly #options: PaxosSimulationOptions;
  readonly #clock = new VirtualClock();
  readonly #random: Random;
  readonly #faultRandom: Random;
  readonly #diskRandom: Random;
  /** Draws the targeted crashes right after a promise or an acceptance leaves. */
  readonly #sendCrashRandom: Random;
  readonly #network: MemoryNetwork;
  readonly #invariants: PaxosInvariants;
  /** Every node that may run: the initial voters, plus the candidates for membership changes. */
  readonly #ids: NodeId[];
  readonly #initialVoters: NodeId[];
  readonly #storages = new Map<NodeId, Storage>();
  readonly #disks = new Map<NodeId, SimFileSystem>();
  readonly #reopening = new Set<NodeId>();
  readonly #running = new Map<NodeId, SimPaxosNode>();
  #injectingFaults = false;
  #faultsInjected = 0;
  #crashes = 0;
  #recoveries = 0;
  #membershipChanges = 0;

  constructor(options: PaxosSimulationOptions) {
    if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > 9) {
      throw new RangeError(`nodes must be an integer from 1 to 9, got ${options.nodes}`);
    }
    this.#options = options;
    const root = new SeededRandom(options.seed);
    this.#random = root.fork();
    this.#faultRandom = root.fork();
    this.#diskRandom = root.fork();
    this.#sendCrashRandom = root.fork();
    this.#network = new MemoryNetwork({
      clock: this.#clock,
      random: root.fork(),
      clusterId: 'sim',
      faults: { delay: { kind: 'uniform', minMs: 1, maxMs: 5 } },
      ...(options.wireCodec === false ? {} : { codec: createEnvelopeCodec() }),
    });
    this.#initialVoters = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
    this.#ids = options.membership === true ? Array.from({ length: 9 }, (_, i) => `n${i + 1}`) : [...this.#initialVoters];
    this.#invariants = new PaxosInvariants(() => this.#clock.now(), this.#initialVoters, options.membership === true);
  }

  get #fileMode(): boolean {
    return this.#options.storage === 'file';
  }

  async run(): Promise<PaxosSimulationResult> {
    for (const id of this.#ids) {
      if (this.#fileMode) {
        this.#disks.set(
          id,
          new SimFileSystem({ scheduleSync: (complete) => this.#clock.setTimeout(complete, this.#diskRandom.int(3)) }),
        );
        if (!(await this.#openFileStorage(id))) break;
      } else {
        // Syncs take 0–2 ms of virtual time, so a crash can land between a write and its sync.
        this.#storages.set(id, new SimStorage(undefined, false, (complete) => this.#clock.setTimeout(complete, this.#diskRandom.int(3))));
      }
      this.#startNode(id);
    }
    const recorder = new HistoryRecorder<KvInput, KvOutput>({ clock: () => this.#clock.now() });
    const workload = new KvWorkload(
      { node: (id) => this.#running.get(id), ids: this.#ids },
      recorder,
      this.#clock,
      this.#random.fork(),
      {
        clients: 3,
        keys: 3,
        timeoutMs: 20 * TICK_MS * ELECTION_TICKS,
        thinkMs: [1, 30],
        // Lease reads go through the log too (see MultiPaxosNode), so they belong in the checked history.
        reads: { lease: 0.3 },
      },
    );
    if (this.#options.workload !== false) workload.start();

    this.#injectingFaults = this.#options.faults !== false;
    for (let step = 0; step < this.#options.steps; step++) {
      if (this.#injectingFaults) this.#maybeInjectFault();
      await this.#step();
      if (this.#invariants.violations.length > 0) break;
    }
    this.#injectingFaults = false;
    workload.stop();
    if (this.#invariants.violations.length === 0) await this.#healAndCheckLiveness();
    const drainUntil = this.#clock.now() + 20 * TICK_MS * ELECTION_TICKS + 100;
    while (workload.inFlight > 0 && this.#clock.now() < drainUntil) await this.#step();
    for (const node of this.#running.values()) await node.stop();
    await this.#network.close();
    this.#invariants.finish();

    const history = recorder.history();
    let linearizability: Verdict | 'not-checked' = 'not-checked';
    if (this.#options.workload !== false) {
      linearizability = checkLinearizability(kvModel, history, { timeoutMs: this.#options.checkBudgetMs ?? 10_000 }).verdict;
      if (linearizability === 'not-linearizable') {
        this.#invariants.violations.push({
          invariant: 'linearizability',
          message: 'the client history is not linearizable',
          atMs: this.#clock.now(),
        });
      }
    }
    return {
      seed: this.#options.seed,
      violations: this.#invariants.violations,
      virtualTimeMs: this.#clock.now(),
      chosenSlots: this.#invariants.chosenSlots,
      faultsInjected: this.#faultsInjected,
      crashes: this.#crashes,
      operations: { ...workload.counts },
      linearizability,
      history,
      recoveries: this.#recoveries,
      membershipChanges: this.#membershipChanges,
    };
  }

  async #step(): Promise<void> {
    this.#clock.runNext();
    await drainMicrotasks();
  }

  #startNode(id: NodeId): void {
    const storage = this.#storages.get(id)!;
    this.#invariants.onRestart(id, storage);
    this.#invariants.onReset(id, storage.snapshot().metadata.index);
    const mutations = this.#options.mutations ?? {};
    const node: SimPaxosNode = new MultiPaxosNode({
      paxos: {
        id,
        voters: this.#initialVoters,
        electionTicks: ELECTION_TICKS,
        heartbeatTicks: 1,
        window: this.#options.window ?? 8,
        mutations,
      },
      mutations,
      snapshots: { entries: 20, retainEntries: 5 },
      clusterId: 'sim',
      transport: this.#endpoint(id),
      storage,
      stateMachine: new KvStateMachine(),
      clock: this.#clock,
      random: this.#random.fork(),
      tickIntervalMs: TICK_MS,
      observer: {
        accepted: (slots) => this.#invariants.onAccepted(id, slots),
        applied: (entry) => this.#invariants.onApply(id, entry.index, entry.data, entry.type),
        installed: (index) => this.#invariants.onReset(id, index),
      },
    });
    node.on('error', ({ error }) => {
      // A node that fails stop is a bug unless it is the simulated disk's doing.
      void error;
    });
    this.#running.set(id, node);
    node.start();
  }

  /**
   * The node's endpoint, wrapped so that now and then the node crashes right
   * after a promise (one in four) or an acceptance (one in 200) leaves it,
   * on a microtask: after the rest of the Ready's messages went out and
   * before any timer (such as a sync's completion) fires. Random crashes
   * almost never land in that window, which is where an acceptor that
   * replies before persisting loses what it promised.
   */
  #endpoint(id: NodeId): Transport {
    const inner = this.#network.endpoint(id);
    const send = (to: NodeId, envelope: Envelope): void => {
      inner.send(to, envelope);
      const message = envelope.payload as PaxosMessage;
      this.#invariants.onSend(id, message);
      if (!this.#injectingFaults) return;
      const rate = message.type === 'promise' ? 1 / 4 : message.type === 'accepted' ? 1 / 200 : 0;
      if (rate === 0 || this.#sendCrashRandom.next() >= rate) return;
      const restartAfter = 5 + this.#sendCrashRandom.int(41);
      queueMicrotask(() => {
        if (!this.#running.has(id) || !this.#injectingFaults) return;
        void this.#crash(id);
        this.#clock.setTimeout(() => {
          if (this.#injectingFaults) this.#restart(id);
        }, restartAfter);
      });
    };
    return {
      localId: inner.localId,
      maxMessageBytes: inner.maxMessageBytes,
      send,
      setHandler: (handler) => inner.setHandler(handler),
      onUnreachable: (listener) => inner.onUnreachable(listener),
      close: () => inner.close(),
    };
  }

  async #crash(id: NodeId): Promise<void> {
    const node = this.#running.get(id);
    if (node === undefined) return;
    this.#running.delete(id);
    this.#crashes++;
    if (this.#fileMode) {
      const stopping = node.stop();
      this.#disks.set(id, this.#disks.get(id)!.crash(this.#diskRandom));
      this.#network.crash(id);
      await stopping;
      return;
    }
    await node.stop();
    this.#network.crash(id);
    this.#storages.set(id, (this.#storages.get(id) as SimStorage).crash(this.#faultRandom));
  }

  #restart(id: NodeId): void {
    if (this.#running.has(id) || this.#reopening.has(id)) return;
    if (this.#fileMode) {
      void this.#reopen(id);
      return;
    }
    this.#network.restart(id);
    this.#startNode(id);
  }

  async #reopen(id: NodeId): Promise<void> {
    this.#reopening.add(id);
    try {
      if (!(await this.#openFileStorage(id))) return;
    } finally {
      this.#reopening.delete(id);
    }
    this.#network.restart(id);
    this.#startNode(id);
  }

  async #openFileStorage(id: NodeId): Promise<boolean> {
    const restarting = this.#storages.has(id);
    try {
      const storage = await FileStorage.open(`/synod/${id}`, {
        // Multi-Paxos keeps its promised ballot in the hard state and accepts slots in any ballot.
        raftRules: false,
        fileSystem: this.#disks.get(id)!,
        segmentBytes: SIM_SEGMENT_BYTES,
        ...(this.#diskRandom.int(2) === 0 ? { writeBufferBytes: 0 } : {}),
      });
      if (restarting) this.#recoveries++;
      this.#storages.set(id, new ObservedStorage(storage));
      return true;
    } catch (error) {
      this.#invariants.violations.push({
        invariant: 'storage-recovery',
        message: `${id}: FileStorage.open failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
        atMs: this.#clock.now(),
      });
      return false;
    }
  }

  #maybeInjectFault(): void {
    const r = this.#faultRandom;
    if (r.next() >= 1 / 200) return;
    this.#faultsInjected++;
    const ids = this.#ids;
    const pick = (): NodeId => ids[r.int(ids.length)]!;
    switch (r.int(this.#options.membership === true ? 10 : 8)) {
      case 0: {
        const shuffled = [...ids].sort(() => r.next() - 0.5);
        const cut = 1 + r.int(Math.max(1, ids.length - 1));
        this.#network.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
        break;
      }
      case 1:
        this.#network.heal();
        break;
      case 2:
        void this.#crash(pick());
        break;
      case 3: {
        const down = ids.filter((id) => !this.#running.has(id));
        if (down.length > 0) this.#restart(down[r.int(down.length)]!);
        break;
      }
      case 4:
        this.#network.setFaults(randomLinkFaults(r));
        break;
      case 5: {
        const from = pick();
        const to = pick();
        if (from !== to) this.#network.cutLink(from, to);
        break;
      }
      case 6: {
        const leader = [...this.#running.values()].find((n) => n.status().role === 'leader');
        if (leader !== undefined) this.#network.isolate(leader.id);
        break;
      }
      case 7:
        this.#network.setFaults({ delay: { kind: 'uniform', minMs: 1, maxMs: 5 } });
        break;
      default:
        this.#changeMembership(r);
        break;
    }
  }

  /**
   * A random membership change proposed on the current leader: add a
   * voter, remove one, or replace one in a single change. Refusals (one
   * already pending, not the leader any more) are part of the test.
   */
  #changeMembership(r: Random): void {
    const leader = [...this.#running.values()].find((n) => n.status().role === 'leader');
    if (leader === undefined) return;
    const voters = leader.status().membership.voters;
    const outsiders = this.#ids.filter((id) => !voters.includes(id));
    const pick = <T>(xs: readonly T[]): T | undefined => (xs.length === 0 ? undefined : xs[r.int(xs.length)]);
    const outsider = pick(outsiders);
    const voter = pick(voters);
    const options = { timeoutMs: 20 * TICK_MS * ELECTION_TICKS };
    let change: Promise<unknown> | undefined;
    switch (r.int(3)) {
      case 0:
        if (outsider !== undefined) change = leader.addVoter(outsider, options);
        break;
      case 1:
        if (voter !== undefined && voters.length > 1) change = leader.removeMember(voter, options);
        break;
      case 2:
        if (outsider !== undefined && voter !== undefined) {
          change = leader.changeVoters([...voters.filter((v) => v !== voter), outsider], options);
        }
        break;
    }
    if (change === undefined) return;
    this.#membershipChanges++;
    change.catch(() => undefined);
  }

  async #healAndCheckLiveness(): Promise<void> {
    this.#network.heal();
    this.#network.setFaults({ delay: { kind: 'uniform', minMs: 1, maxMs: 5 } });
    for (const id of this.#ids) this.#restart(id);
    const bound = this.#options.livenessBoundMs ?? 10_000;
    const deadline = this.#clock.now() + bound;
    let committed = false;
    let attempt: Promise<void> | undefined;
    while (!committed && this.#clock.now() < deadline && this.#invariants.violations.length === 0) {
      if (attempt === undefined) {
        const leader = [...this.#running.values()].find((n) => n.status().role === 'leader');
        if (leader !== undefined) {
          attempt = leader
            .propose(encodeKvCommand({ type: 'put', key: 'liveness', value: String(this.#options.seed) }), {
              timeoutMs: 20 * TICK_MS * ELECTION_TICKS,
            })
            .then(
              () => {
                committed = true;
              },
              () => {
                attempt = undefined;
              },
            );
        }
      }
      await this.#step();
    }
    if (!committed && this.#invariants.violations.length === 0) {
      this.#invariants.violations.push({
        invariant: 'liveness',
        message: `no proposal committed within ${bound} ms of virtual time after healing`,
        atMs: this.#clock.now(),
      });
    }
  }
}

function randomLinkFaults(r: Random): LinkFaults {
  return {
    dropRate: r.next() * 0.2,
    duplicateRate: r.next() * 0.05,
    delay: { kind: 'uniform', minMs: 1, maxMs: 1 + r.int(30) },
    reorder: { rate: r.next() * 0.2, maxExtraDelayMs: 1 + r.int(20) },
  };
}
