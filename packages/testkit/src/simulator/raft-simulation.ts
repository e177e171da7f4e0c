import {
  FileStorage,
  KvStateMachine,
  PhiAccrualDetector,
  RaftNode,
  SeededRandom,
  VirtualClock,
  decodeKvCommand,
  encodeKvCommand,
  type ApplyContext,
  type Envelope,
  type KvQuery,
  type KvQueryResult,
  type KvResult,
  type NodeId,
  type Random,
  type RaftMessage,
  type StateMachine,
  type Storage,
  type Transport,
} from '@synod/core';
import { internalTestMutations, type InternalTestMutation } from '@synod/core/internal/test-mutations';
import { createEnvelopeCodec } from '@synod/protocol';
import { MemoryNetwork, type LinkFaults } from '@synod/transport-memory';
import { HistoryRecorder } from '../history/recorder.js';
import type { History } from '../history/types.js';
import type { KvInput, KvOutput } from '../history/kv-ops.js';
import { checkLinearizability, type Verdict } from '../linearizability/checker.js';
import { kvModel } from '../linearizability/kv-model.js';
import { drainMicrotasks } from './drive-clock.js';
import { RaftInvariants, type Violation } from './invariants.js';
import { KvWorkload } from './kv-workload.js';
import { ObservedStorage } from './observed-storage.js';
import { SimFileSystem } from './sim-file-system.js';
import { SimStorage, type AppendObserver } from './sim-storage.js';

/** What a simulation run needs. Everything random derives from `seed`. */
export interface RaftSimulationOptions {
  readonly seed: number;
  /** Cluster size, 1 to 9. */
  readonly nodes: number;
  /** Number of scheduler events (message deliveries, ticks, client actions) in the fault phase. */
  readonly steps: number;
  /** Inject faults during the fault phase. @default true */
  readonly faults?: boolean;
  /** Run KV clients and check their history. @default true */
  readonly workload?: boolean;
  /** Virtual time allowed, after healing, for a leader to be elected and a proposal to commit. @default 10000 */
  readonly livenessBoundMs?: number;
  /** Send every message through the protobuf envelope codec, so aliasing and codec bugs show. @default true */
  readonly wireCodec?: boolean;
  /**
   * Model disks whose fsync lies (acknowledges before data is durable). Raft
   * cannot be safe then; this exists to check that the simulator notices.
   * Works in both storage modes (in file mode no fsync, file or directory,
   * makes anything durable).
   * @default false
   */
  readonly lyingDisks?: boolean;
  /** Time budget of the linearizability check at the end, in wall-clock ms. @default 10000 */
  readonly checkBudgetMs?: number;
  /**
   * Membership faults: nodes n1…n9 all exist, the first `nodes` of them are
   * the initial voters and the others start as non-members; random adds,
   * removes, promotions and joint replacements run on the leader alongside
   * the other faults. Nodes also snapshot and compact often, so catch-up by
   * InstallSnapshot is exercised too. @default false
   */
  readonly membership?: boolean;
  /**
   * How nodes store their log.
   * - `memory`: {@link SimStorage}, which keeps what was synced plus a random
   *   prefix of the writes that were not, write by write.
   * - `file`: the real `FileStorage` on a {@link SimFileSystem}, one disk per
   *   node. An fdatasync takes 0–2 ms of virtual time, a crash keeps the
   *   durable bytes plus a random prefix of the rest, torn at any byte, and
   *   the restarted node reopens FileStorage on that disk, so its recovery
   *   (torn-tail truncation, stale lock, lost directory entries) runs for
   *   real. Nodes also snapshot and compact often, so segment deletion and
   *   snapshot files are exercised too.
   * @default 'memory'
   */
  readonly storage?: SimStorageMode;
  /**
   * Memory mode: a sync takes 0–2 ms of virtual time, and a crash meanwhile
   * keeps only a random prefix of the writes it covers (file mode always
   * works this way). `false` makes syncs complete at once, as before.
   * @default true
   */
  readonly delayedSyncs?: boolean;
  /**
   * During the fault phase, crash a node right after it sends a granted
   * vote (one time in four) or an append acknowledgement (one in 50), and
   * restart it 5–45 ms later, so that a vote or an acknowledgement that left
   * before its hard state or entries were durable is forgotten while the
   * rest of the cluster still counts it. Also holds one TimeoutNow in two
   * back for 100–160 ms, until after the leader abandoned its transfer.
   * @default true
   */
  readonly crashAfterSend?: boolean;
  /**
   * Every node serves lease reads (`leaseReads: true`) and the workload
   * issues them, checked for linearizability like any read. (Leadership
   * transfers are among the faults either way.) @default true
   */
  readonly leaseReads?: boolean;
  /**
   * Detector-assisted elections: every node gets a phi accrual failure
   * detector. `undefined` lets the seed decide (one seed in three).
   * @default undefined
   */
  readonly failureDetectors?: boolean;
  /**
   * Most entry bytes per append message. Small caps send a new leader's
   * catch-up one entry at a time, so entries of older terms reach a quorum
   * before its own no-op does (the situation the §5.4.2 commit rule is
   * about), and snapshots travel in many chunks. `undefined` lets the seed
   * decide: one seed in three uses 64 bytes (about one entry per message),
   * the others the default (512 with `membership`).
   * @default undefined
   */
  readonly maxMessageBytes?: number;
  /**
   * Transfer races, a fault pattern aimed at lease reads after a leadership
   * transfer. Every 300–700 ms of virtual time during the fault phase the
   * other faults pause, the network heals with 1–2 ms delays, and 150 ms
   * later the leader starts a transfer to a random voter. Its TimeoutNow is
   * held back for 110–140 ms, until after the leader abandoned the transfer
   * and went on heartbeating (its followers keep acknowledging). Then the
   * TimeoutNow is delivered, the old leader stops hearing the others for
   * 300 ms (a one-way cut), and the workload writes a fresh value of a
   * random key on the target as soon as it leads, then sends a lease read of
   * that key to the old leader. A leader whose lease survived its TimeoutNow
   * answers it with the old value, which the linearizability check flags.
   * Everything is drawn from the seed; with the option off the run draws
   * and does exactly what it did before the option existed.
   * @default false
   */
  readonly transferRace?: boolean;
  /** KV clients of the workload, each with one operation in flight. @default 3 */
  readonly clients?: number;
  /**
   * TEST ONLY: switch on one of the deliberate bugs of
   * `@synod/core/internal/test-mutations` for this run (it is switched off
   * again when the run ends). The mutation tests check that every one of
   * them makes some seed fail.
   */
  readonly mutation?: InternalTestMutation;
}

/** See {@link RaftSimulationOptions.storage}. */
export type SimStorageMode = 'memory' | 'file';

/** What FileStorage recovery did in a file-mode run. */
export interface FileRecoveryCounts {
  /** Restarts after a crash, each reopening FileStorage on the crashed disk. */
  readonly recoveries: number;
  /** Recoveries that cut a torn tail off the last segment. */
  readonly tornTails: number;
  /** Recoveries that found an applied snapshot newer than the log and reset the log to it. */
  readonly resetsToSnapshot: number;
  /**
   * Crashes injected right after a node installed a snapshot, before the
   * sync that makes its log reset durable (see `resetsToSnapshot`).
   */
  readonly crashesAfterSnapshot: number;
  /** Files the crashes tore inside a write (WAL segments, snapshots, lock files). */
  readonly tornWrites: number;
}

export interface RaftSimulationResult {
  readonly seed: number;
  readonly violations: readonly Violation[];
  readonly virtualTimeMs: number;
  readonly committedIndex: number;
  readonly faultsInjected: number;
  readonly crashes: number;
  /** Membership changes attempted (with `membership`). */
  readonly membershipChanges: number;
  readonly operations: { readonly ok: number; readonly fail: number; readonly info: number };
  /** Verdict of the linearizability check of the client history (`unknown` if the budget ran out). */
  readonly linearizability: Verdict | 'not-checked';
  /** The client history, as recorded. */
  readonly history: History<KvInput, KvOutput>;
  /** FileStorage recoveries, with `storage: 'file'`; undefined in memory mode. */
  readonly fileStorage: FileRecoveryCounts | undefined;
  /** Crashes injected right after a node sent a granted vote or an append acknowledgement. */
  readonly crashesAfterSend: { readonly votes: number; readonly acks: number };
  /** Reads that completed, by consistency (lease and linearizable reads are in the history too). */
  readonly reads: { readonly linearizable: number; readonly lease: number; readonly serializable: number };
  /** Whether the nodes ran with failure detectors (detector-assisted elections). */
  readonly failureDetectors: boolean;
  /** Leadership transfers started by the fault schedule. */
  readonly transfers: number;
  /** TimeoutNow messages held back past the end of their transfer (see `crashAfterSend`). */
  readonly delayedTimeoutNows: number;
  /**
   * Transfer races (see {@link RaftSimulationOptions.transferRace}): those
   * whose TimeoutNow was held and delivered, and the lease reads they sent
   * to the old leader after the target's write succeeded.
   */
  readonly transferRaces: { readonly delivered: number; readonly leaseReads: number };
}

const TICK_MS = 10;
/** Keys of the workload (k0, k1, …). */
const KV_KEYS = 3;
const ELECTION_TICKS = 10;
/** Small segments, so rotation and segment deletion happen in every run. */
const SIM_SEGMENT_BYTES = 1024;

type SimRaftNode = RaftNode<KvResult, KvQuery, KvQueryResult>;

/** Hands every applied command to the invariant checker before the KV state machine applies it. */
class ObservedStateMachine implements StateMachine<Uint8Array, KvResult, KvQuery, KvQueryResult> {
  readonly #inner = new KvStateMachine();
  constructor(private readonly observe: (index: number, command: Uint8Array) => void) {}
  apply(command: Uint8Array, context: ApplyContext): KvResult {
    this.observe(context.index, command);
    return this.#inner.apply(command, context);
  }
  query(query: KvQuery): KvQueryResult {
    return this.#inner.query(query);
  }
  snapshot(): Uint8Array {
    return this.#inner.snapshot();
  }
  restore(snapshot: Uint8Array): void {
    this.#inner.restore(snapshot);
  }
}

/**
 * Runs one seeded Raft simulation: a cluster on the in-memory network with a
 * virtual clock, random faults (drops, delays, duplicates, reordering,
 * partitions, one-way cuts, crash-restart losing unsynced writes), a KV
 * client workload, and the safety invariants checked after every step. Then
 * it heals everything and checks liveness: a leader is elected and a
 * proposal commits within `livenessBoundMs` of virtual time.
 *
 * The same options always produce the same run.
 *
 * @example
 * ```ts
 * const result = await simulateRaft({ seed: 7, nodes: 5, steps: 5000 });
 * if (result.violations.length > 0) console.log(result.violations);
 * ```
 */
export async function simulateRaft(options: RaftSimulationOptions): Promise<RaftSimulationResult> {
  const simulation = new RaftSimulation(options);
  return simulation.run();
}

class RaftSimulation {
  /** Draws the targeted crashes after a vote or an acknowledgement leaves. */
  readonly #sendCrashRandom: Random;
  /** Committed-value bookkeeping for serializable reads: `key\0value` → index where it was first applied. */
  readonly #appliedValues = new Map<string, number>();
  readonly #failureDetectors: boolean;
  readonly #maxMessageBytes: number | undefined;
  #crashesAfterSend = { votes: 0, acks: 0 };
  #transfers = 0;
  #delayedTimeoutNows = 0;
  /** Draws the transfer races (see {@link RaftSimulationOptions.transferRace}). */
  readonly #raceRandom: Random;
  /** The transfer race under way; random faults pause meanwhile. */
  #race: TransferRace | undefined;
  #nextRaceAtMs = 0;
  #transferRaces = { delivered: 0, leaseReads: 0 };
  #workload: KvWorkload | undefined;
  /** Starts of each node, so that a message held back is dropped if its sender crashed meanwhile. */
  readonly #incarnations = new Map<NodeId, number>();
  readonly #options: RaftSimulationOptions;
  readonly #clock = new VirtualClock();
  readonly #random: Random;
  readonly #faultRandom: Random;
  readonly #network: MemoryNetwork;
  readonly #invariants: RaftInvariants;
  readonly #ids: NodeId[];
  readonly #initialVoters: NodeId[];
  #membershipChanges = 0;
  readonly #storages = new Map<NodeId, Storage & { onAppend: AppendObserver | undefined }>();
  /** File mode: each node's disk, replaced by what survives at every crash. */
  readonly #disks = new Map<NodeId, SimFileSystem>();
  /** File mode: nodes whose FileStorage is being reopened. */
  readonly #reopening = new Set<NodeId>();
  readonly #diskRandom: Random;
  /** Decides which snapshot installs a crash follows (file mode). */
  readonly #snapshotCrashRandom: Random;
  #recoveries = { recoveries: 0, tornTails: 0, resetsToSnapshot: 0, crashesAfterSnapshot: 0, tornWrites: 0 };
  /** True while the fault phase runs; the healing phase injects nothing. */
  #injectingFaults = false;
  readonly #running = new Map<NodeId, SimRaftNode>();
  #faultsInjected = 0;
  #crashes = 0;

  constructor(options: RaftSimulationOptions) {
    if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > 9) {
      throw new RangeError(`nodes must be an integer from 1 to 9, got ${options.nodes}`);
    }
    this.#options = options;
    const root = new SeededRandom(options.seed);
    this.#random = root.fork();
    this.#faultRandom = root.fork();
    this.#network = new MemoryNetwork({
      clock: this.#clock,
      random: root.fork(),
      clusterId: 'sim',
      faults: { delay: { kind: 'uniform', minMs: 1, maxMs: 5 } },
      ...(options.wireCodec === false ? {} : { codec: createEnvelopeCodec() }),
    });
    this.#invariants = new RaftInvariants(() => this.#clock.now());
    this.#initialVoters = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
    this.#ids = options.membership === true ? Array.from({ length: 9 }, (_, i) => `n${i + 1}`) : [...this.#initialVoters];
    // Forked last, so that memory-mode runs draw exactly what they drew before file mode existed.
    this.#diskRandom = root.fork();
    // Forked after that, so that file-mode runs draw what they drew before crashes after snapshots existed.
    this.#snapshotCrashRandom = root.fork();
    this.#sendCrashRandom = root.fork();
    const perSeed = root.fork();
    const detectorsDrawn = perSeed.int(3) === 0;
    const smallMessagesDrawn = perSeed.int(3) === 0;
    // Forked last of all, so that runs without transfer races draw what they drew before.
    this.#raceRandom = root.fork();
    this.#nextRaceAtMs = 300 + this.#raceRandom.int(401);
    this.#failureDetectors = options.failureDetectors ?? detectorsDrawn;
    this.#maxMessageBytes =
      options.maxMessageBytes ?? (smallMessagesDrawn ? 64 : options.membership === true ? 512 : undefined);
  }

  get #fileMode(): boolean {
    return this.#options.storage === 'file';
  }

  async run(): Promise<RaftSimulationResult> {
    const mutation = this.#options.mutation;
    if (mutation !== undefined) internalTestMutations[mutation] = true;
    try {
      return await this.#run();
    } finally {
      if (mutation !== undefined) internalTestMutations[mutation] = false;
    }
  }

  async #run(): Promise<RaftSimulationResult> {
    for (const id of this.#ids) {
      if (this.#fileMode) {
        const disk = new SimFileSystem({
          lyingSync: this.#options.lyingDisks === true,
          // A group commit takes 0–2 ms of virtual time, so crashes can land while one is under way.
          scheduleSync: (complete) => this.#clock.setTimeout(complete, this.#diskRandom.int(3)),
        });
        this.#disks.set(id, disk);
        if (!(await this.#openFileStorage(id))) break;
      } else {
        this.#storages.set(id, new SimStorage(undefined, this.#options.lyingDisks === true, this.#memorySyncScheduler()));
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
        clients: this.#options.clients ?? 3,
        keys: KV_KEYS,
        timeoutMs: 20 * TICK_MS * ELECTION_TICKS,
        thinkMs: [1, 30],
        reads: { lease: this.#leaseReads ? 0.3 : 0, serializable: 0.25 },
        onSerializableRead: (node, key, value) => this.#checkSerializableRead(node, key, value),
      },
    );
    if (this.#options.workload !== false) workload.start();
    this.#workload = workload;

    this.#injectingFaults = this.#options.faults !== false;
    for (let step = 0; step < this.#options.steps; step++) {
      if (this.#injectingFaults && this.#options.transferRace === true) this.#maybeStartTransferRace();
      if (this.#injectingFaults && this.#race === undefined) this.#maybeInjectFault();
      await this.#step();
      if (this.#invariants.violations.length > 0) break;
    }
    this.#injectingFaults = false;

    workload.stop();
    if (this.#invariants.violations.length === 0) await this.#healAndCheckLiveness();
    // Let the operations still in flight finish, so few stay open.
    const drainUntil = this.#clock.now() + 20 * TICK_MS * ELECTION_TICKS + 100;
    while (workload.inFlight > 0 && this.#clock.now() < drainUntil) await this.#step();

    for (const node of this.#running.values()) await node.stop();
    await this.#network.close();

    // Operations still open stay open: their outcome is unknown, never "failed".
    const history = recorder.history();
    let linearizability: Verdict | 'not-checked' = 'not-checked';
    if (this.#options.workload !== false) {
      linearizability = checkLinearizability(kvModel, history, { timeoutMs: this.#options.checkBudgetMs ?? 10_000 }).verdict;
      if (linearizability === 'not-linearizable') {
        this.#invariants.violations.push({
          invariant: 'linearizability',
          message: 'the client history is not linearizable (synod sim writes it to a file for synod check-history)',
          atMs: this.#clock.now(),
        });
      }
    }
    return {
      seed: this.#options.seed,
      violations: this.#invariants.violations,
      virtualTimeMs: this.#clock.now(),
      committedIndex: this.#invariants.committedIndex,
      faultsInjected: this.#faultsInjected,
      crashes: this.#crashes,
      membershipChanges: this.#membershipChanges,
      operations: { ...workload.counts },
      linearizability,
      history,
      fileStorage: this.#fileMode ? { ...this.#recoveries } : undefined,
      crashesAfterSend: { ...this.#crashesAfterSend },
      reads: { ...workload.reads },
      failureDetectors: this.#failureDetectors,
      transfers: this.#transfers,
      delayedTimeoutNows: this.#delayedTimeoutNows,
      transferRaces: { ...this.#transferRaces },
    };
  }

  get #leaseReads(): boolean {
    return this.#options.leaseReads !== false;
  }

  /** Memory mode: syncs complete 0–2 ms of virtual time later (or at once without `delayedSyncs`). */
  #memorySyncScheduler(): ((complete: () => void) => void) | undefined {
    if (this.#options.delayedSyncs === false) return undefined;
    return (complete) => this.#clock.setTimeout(complete, this.#diskRandom.int(3));
  }

  /**
   * A serializable read may be stale, but what it shows must have been
   * committed: the value was applied at some index that a node had reported
   * committed by the time the read returned. (Values are unique per write.)
   */
  #checkSerializableRead(node: NodeId, key: string, value: string | null): void {
    if (value === null) return; // every key starts absent
    const index = this.#appliedValues.get(`${key}\0${value}`);
    if (index !== undefined && index <= this.#invariants.highestCommit) return;
    this.#invariants.violations.push({
      invariant: 'serializable-read',
      message:
        index === undefined
          ? `${node} answered a serializable read of ${key} with ${value}, which no node applied`
          : `${node} answered a serializable read of ${key} with ${value} from index ${index}, which no node has committed (highest commit ${this.#invariants.highestCommit})`,
      atMs: this.#clock.now(),
    });
  }

  /** Records the value a put or compare-and-swap wrote, for {@link #checkSerializableRead}. */
  #recordAppliedValue(index: number, command: Uint8Array): void {
    let decoded;
    try {
      decoded = decodeKvCommand(command);
    } catch {
      return;
    }
    if (decoded.type !== 'put' && decoded.type !== 'cas') return;
    const key = `${decoded.key}\0${decoded.value}`;
    if (!this.#appliedValues.has(key)) this.#appliedValues.set(key, index);
  }

  /**
   * The node's endpoint, watched: during the fault phase a node may crash
   * right after a granted vote or an append acknowledgement leaves it (see
   * {@link RaftSimulationOptions.crashAfterSend}). The crash runs on a
   * microtask, after the rest of the Ready's messages went out and before
   * any timer, such as the completion of a sync, fires.
   */
  #endpoint(id: NodeId): Transport {
    const inner = this.#network.endpoint(id);
    if (this.#options.crashAfterSend === false && this.#options.transferRace !== true) return inner;
    const send = (to: NodeId, envelope: Envelope): void => {
      const message = envelope.payload as RaftMessage;
      const race = this.#race;
      if (race !== undefined && message.type === 'timeout-now' && race.leader === id && race.target === to && !race.held) {
        this.#holdRaceTimeoutNow(race, inner, envelope);
        return;
      }
      // Random faults pause during a transfer race (never under way without the option).
      const injecting = this.#injectingFaults && race === undefined && this.#options.crashAfterSend !== false;
      if (message.type === 'timeout-now' && injecting && this.#sendCrashRandom.int(2) === 0) {
        this.#sendLate(id, inner, to, envelope);
        return;
      }
      inner.send(to, envelope);
      if (!injecting) return;
      let rate = 0;
      if (message.type === 'vote-response' && !message.reject) rate = 1 / 4;
      else if (message.type === 'append-response' && !message.reject) rate = 1 / 50;
      if (rate === 0 || this.#sendCrashRandom.next() >= rate) return;
      const restartAfter = 5 + this.#sendCrashRandom.int(41);
      queueMicrotask(() => {
        if (!this.#running.has(id) || !this.#injectingFaults) return;
        if (message.type === 'vote-response') this.#crashesAfterSend.votes++;
        else this.#crashesAfterSend.acks++;
        void this.#crash(id);
        this.#clock.setTimeout(() => {
          if (this.#injectingFaults) this.#restart(id);
        }, restartAfter);
      });
    };
    this.#incarnations.set(id, (this.#incarnations.get(id) ?? 0) + 1);
    return {
      localId: inner.localId,
      maxMessageBytes: inner.maxMessageBytes,
      send,
      setHandler: (handler) => inner.setHandler(handler),
      onUnreachable: (listener) => inner.onUnreachable(listener),
      close: () => inner.close(),
    };
  }

  /** Fires the next scheduled event, lets its continuations run, and checks the invariants. */
  async #step(): Promise<void> {
    this.#clock.runNext();
    await drainMicrotasks();
    for (const [id, node] of this.#running) {
      const status = node.status();
      const storage = this.#storages.get(id)!;
      // With slow syncs the core can learn that entries are committed
      // before the Ready that stores them runs (it waits for the sync in
      // progress), so its commit index may be ahead of the log in storage,
      // which may still hold the conflicting entries they replace. The
      // stored hard state is written after the entries it commits.
      const commit = Math.min(status.commitIndex, storage.initialState().hardState.commit);
      this.#invariants.observe(id, status.role, status.term, commit, storage);
    }
  }

  #startNode(id: NodeId): void {
    const storage = this.#storages.get(id)!;
    storage.onAppend = (entries, live) => this.#invariants.onAppend(id, entries, live);
    const node: SimRaftNode = new RaftNode({
      raft: {
        id,
        voters: this.#initialVoters.includes(id) ? this.#initialVoters : [],
        electionTicks: ELECTION_TICKS,
        heartbeatTicks: 1,
        ...(this.#maxMessageBytes !== undefined ? { maxMessageBytes: this.#maxMessageBytes } : {}),
        ...(this.#leaseReads ? { leaseReads: true } : {}),
      },
      ...(this.#failureDetectors
        ? {
            failureDetector: new PhiAccrualDetector({
              threshold: 8,
              minStdDeviationMs: 5,
              firstHeartbeatEstimateMs: TICK_MS,
            }),
          }
        : {}),
      ...(this.#options.membership === true ? { snapshots: { entries: 40, retainEntries: 10 } } : {}),
      ...(this.#fileMode ? { snapshots: { entries: 20, retainEntries: 5 } } : {}),
      clusterId: 'sim',
      transport: this.#endpoint(id),
      storage,
      stateMachine: new ObservedStateMachine((index, command) => {
        this.#invariants.onApply(id, index, command);
        this.#recordAppliedValue(index, command);
      }),
      clock: this.#clock,
      random: this.#random.fork(),
      tickIntervalMs: TICK_MS,
    });
    this.#running.set(id, node);
    node.start();
  }

  async #crash(id: NodeId): Promise<void> {
    const node = this.#running.get(id);
    if (node === undefined) return;
    this.#running.delete(id);
    this.#crashes++;
    if (this.#fileMode) {
      // The power fails now, with whatever group commit is under way: the
      // disk keeps what it keeps at this instant. Recovery runs at restart.
      const stopping = node.stop();
      const survivor = this.#disks.get(id)!.crash(this.#diskRandom);
      this.#recoveries.tornWrites += survivor.lastCrash().tornFiles;
      this.#disks.set(id, survivor);
      this.#network.crash(id);
      await stopping;
      return;
    }
    // The power fails now: a sync under way does not complete.
    this.#storages.set(id, (this.#storages.get(id) as SimStorage).crash(this.#faultRandom));
    const stopping = node.stop();
    this.#network.crash(id);
    await stopping;
  }

  #restart(id: NodeId): void {
    if (this.#running.has(id) || this.#reopening.has(id)) return;
    if (this.#fileMode) {
      void this.#reopen(id);
      return;
    }
    this.#network.restart(id);
    this.#invariants.onRestart(id);
    this.#startNode(id);
  }

  /**
   * File mode: reopens FileStorage on the disk the crash left (recovery) and
   * starts the node on it. FileStorage.open does its work synchronously and
   * resolves on a microtask, so the node is up by the end of this step.
   */
  async #reopen(id: NodeId): Promise<void> {
    this.#reopening.add(id);
    try {
      if (!(await this.#openFileStorage(id))) return;
    } finally {
      this.#reopening.delete(id);
    }
    this.#network.restart(id);
    this.#invariants.onRestart(id);
    this.#startNode(id);
  }

  /**
   * Opens FileStorage on the node's disk, counting what recovery repaired.
   * A disk left by a crash must always open: a failure is a violation.
   */
  async #openFileStorage(id: NodeId): Promise<boolean> {
    const disk = this.#disks.get(id)!;
    const restarting = this.#storages.has(id);
    let storage: FileStorage;
    try {
      storage = await FileStorage.open(`/synod/${id}`, {
        fileSystem: disk,
        segmentBytes: SIM_SEGMENT_BYTES,
        // Half the opens hand every record to the page cache at once rather than at sync(),
        // so crashes also find unsynced bytes there between syncs.
        ...(this.#diskRandom.int(2) === 0 ? { writeBufferBytes: 0 } : {}),
      });
    } catch (error) {
      this.#invariants.violations.push({
        invariant: 'storage-recovery',
        message: `${id}: FileStorage.open failed${restarting ? ' after a crash' : ''}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
        atMs: this.#clock.now(),
      });
      return false;
    }
    if (restarting) {
      const recovery = storage.recovery();
      this.#recoveries.recoveries++;
      if (recovery.truncatedTail !== undefined) this.#recoveries.tornTails++;
      if (recovery.resetToSnapshot) this.#recoveries.resetsToSnapshot++;
    }
    const observed = new ObservedStorage(storage);
    observed.onApplySnapshot = () => this.#maybeCrashAfterSnapshot(id);
    this.#storages.set(id, observed);
    return true;
  }

  /**
   * File mode: one time in two the power fails right after a node installed
   * a snapshot. The snapshot file is durable by then, but the log's reset
   * record is still on its way to the disk with the next group commit, so
   * recovery finds the old log in front of a newer snapshot and must reset
   * it. Random crashes land in that window of a few virtual milliseconds
   * almost never (none in 642 recoveries over 400 seeds before this).
   *
   * The crash runs on a microtask: after the install returns and the node
   * starts its sync, before any timer (the sync's completion) fires.
   */
  #maybeCrashAfterSnapshot(id: NodeId): void {
    if (!this.#injectingFaults || this.#snapshotCrashRandom.int(2) !== 0) return;
    queueMicrotask(() => {
      if (!this.#running.has(id)) return;
      this.#recoveries.crashesAfterSnapshot++;
      void this.#crash(id);
    });
  }

  #maybeInjectFault(): void {
    const r = this.#faultRandom;
    if (r.next() >= 1 / 200) return;
    this.#faultsInjected++;
    const ids = this.#ids;
    const pick = (): NodeId => ids[r.int(ids.length)]!;
    switch (r.int(this.#options.membership === true ? 11 : 9)) {
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
      case 8:
        this.#transferLeadership(r);
        break;
      case 9:
      case 10:
        this.#changeMembership(r);
        break;
    }
  }

  /**
   * Holds a TimeoutNow back for 100–160 ms, past the election timeout after
   * which the leader abandons its transfer: the target then campaigns (and
   * may win) after the old leader went back to leading as if no transfer had
   * happened. When it is finally sent, the old leader stops hearing the
   * others for 150 ms (a one-way partition), so it learns of the new term
   * late and keeps believing it leads, on heartbeats the others acknowledged
   * before they voted. Its lease must stay void for the rest of the term, or
   * it serves stale lease reads. Dropped if the sender crashed meanwhile, as
   * a message in its send queue would be.
   */
  #sendLate(id: NodeId, inner: Transport, to: NodeId, envelope: Envelope): void {
    const incarnation = this.#incarnations.get(id);
    this.#delayedTimeoutNows++;
    this.#clock.setTimeout(
      () => {
        if (!this.#running.has(id) || this.#incarnations.get(id) !== incarnation) return;
        inner.send(to, envelope);
        if (!this.#injectingFaults) return;
        const cut = this.#ids.filter((other) => other !== id && this.#network.canReach(other, id));
        for (const other of cut) this.#network.cutLink(other, id);
        this.#clock.setTimeout(() => {
          for (const other of cut) this.#network.restoreLink(other, id);
        }, 150);
      },
      100 + this.#sendCrashRandom.int(61),
    );
  }

  /** Starts a transfer race when one is due (see {@link RaftSimulationOptions.transferRace}). */
  #maybeStartTransferRace(): void {
    if (this.#race !== undefined || this.#clock.now() < this.#nextRaceAtMs) return;
    const race: TransferRace = { leader: undefined, target: undefined, held: false };
    this.#race = race;
    // A quiet, fast network, so that the race runs as scripted whatever the faults before it.
    this.#network.heal();
    this.#network.setFaults({ delay: { kind: 'uniform', minMs: 1, maxMs: 2 } });
    for (const id of this.#ids) this.#restart(id);
    this.#clock.setTimeout(() => this.#startRaceTransfer(race), 150);
  }

  #startRaceTransfer(race: TransferRace): void {
    const leader = [...this.#running.values()].find((n) => n.status().role === 'leader');
    const targets = leader?.status().membership.voters.filter((id) => id !== leader.id && this.#running.has(id)) ?? [];
    if (!this.#injectingFaults || leader === undefined || targets.length === 0) {
      this.#endTransferRace(race);
      return;
    }
    race.leader = leader.id;
    race.target = targets[this.#raceRandom.int(targets.length)]!;
    leader.transferLeadership(race.target, { timeoutMs: 20 * TICK_MS * ELECTION_TICKS }).catch(() => undefined);
    // A target that cannot catch up within the transfer's election timeout never gets its TimeoutNow.
    this.#clock.setTimeout(() => {
      if (!race.held) this.#endTransferRace(race);
    }, 2 * TICK_MS * ELECTION_TICKS);
  }

  /**
   * Holds the race's TimeoutNow past the end of its transfer, then delivers
   * it, cuts the old leader off from the others' messages, and aims the
   * workload at the stale read (see {@link RaftSimulationOptions.transferRace}).
   */
  #holdRaceTimeoutNow(race: TransferRace, inner: Transport, envelope: Envelope): void {
    race.held = true;
    const leader = race.leader!;
    const target = race.target!;
    const incarnation = this.#incarnations.get(leader);
    this.#clock.setTimeout(
      () => {
        if (!this.#injectingFaults || !this.#running.has(leader) || this.#incarnations.get(leader) !== incarnation) {
          this.#endTransferRace(race);
          return;
        }
        inner.send(target, envelope);
        this.#transferRaces.delivered++;
        const cut = this.#ids.filter((other) => other !== leader && this.#network.canReach(other, leader));
        for (const other of cut) this.#network.cutLink(other, leader);
        const key = `k${this.#raceRandom.int(KV_KEYS)}`;
        void this.#readStaleAfterWrite(leader, target, key);
        this.#clock.setTimeout(() => {
          for (const other of cut) this.#network.restoreLink(other, leader);
          this.#endTransferRace(race);
        }, 300);
      },
      TICK_MS * ELECTION_TICKS + 10 + this.#raceRandom.int(31),
    );
  }

  /** Once `target` leads, writes `key` there, then reads it with a lease read on the old leader. */
  async #readStaleAfterWrite(oldLeader: NodeId, target: NodeId, key: string): Promise<void> {
    const workload = this.#workload;
    if (workload === undefined || this.#options.workload === false) return;
    const deadline = this.#clock.now() + 100;
    while (this.#running.get(target)?.status().role !== 'leader') {
      if (this.#clock.now() >= deadline) return;
      await new Promise<void>((resolve) => this.#clock.setTimeout(resolve, 1));
    }
    if ((await workload.directed(target, { f: 'put', key })) === undefined) return;
    this.#transferRaces.leaseReads++;
    await workload.directed(oldLeader, { f: 'get', key, consistency: 'lease' });
  }

  #endTransferRace(race: TransferRace): void {
    if (this.#race !== race) return;
    this.#race = undefined;
    if (this.#injectingFaults) this.#network.setFaults({ delay: { kind: 'uniform', minMs: 1, maxMs: 5 } });
    this.#nextRaceAtMs = this.#clock.now() + 300 + this.#raceRandom.int(401);
  }

  /** Hands leadership from the current leader to a random other voter (its lease must end with it). */
  #transferLeadership(r: Random): void {
    const leader = [...this.#running.values()].find((n) => n.status().role === 'leader');
    if (leader === undefined) return;
    const others = leader.status().membership.voters.filter((id) => id !== leader.id);
    if (others.length === 0) return;
    this.#transfers++;
    leader.transferLeadership(others[r.int(others.length)]!, { timeoutMs: 20 * TICK_MS * ELECTION_TICKS }).catch(() => undefined);
  }

  /** A random membership change on the current leader; refusals (pending, unsafe, not leader) are part of the test. */
  #changeMembership(r: Random): void {
    const leader = [...this.#running.values()].find((n) => n.status().role === 'leader');
    if (leader === undefined) return;
    const conf = leader.status().membership;
    const members = new Set([...conf.voters, ...conf.votersOutgoing, ...conf.learners]);
    const outsiders = this.#ids.filter((id) => !members.has(id));
    const pick = <T>(xs: readonly T[]): T | undefined => (xs.length === 0 ? undefined : xs[r.int(xs.length)]);
    const options = { timeoutMs: 20 * TICK_MS * ELECTION_TICKS };
    let op: Promise<unknown> | undefined;
    if (conf.votersOutgoing.length > 0) {
      op = leader.leaveJoint(options);
    } else {
      const outsider = pick(outsiders);
      const learner = pick(conf.learners);
      const voter = pick(conf.voters);
      const member = pick([...members]);
      switch (r.int(5)) {
        case 0:
          if (outsider !== undefined) op = leader.addLearner(outsider, options);
          break;
        case 1:
          if (learner !== undefined) op = leader.promoteLearner(learner, options);
          break;
        case 2:
          if (outsider !== undefined) op = leader.addVoter(outsider, options);
          break;
        case 3:
          if (member !== undefined) op = leader.removeMember(member, options);
          break;
        case 4:
          if (outsider !== undefined && voter !== undefined) {
            op = leader.changeMembership(
              [
                { type: 'add-voter', node: outsider },
                { type: 'remove', node: voter },
              ],
              { ...options, transition: r.int(2) === 0 ? 'auto' : 'explicit-joint' },
            );
          }
          break;
      }
    }
    if (op === undefined) return;
    this.#membershipChanges++;
    op.catch(() => undefined);
  }

  async #healAndCheckLiveness(): Promise<void> {
    this.#network.heal();
    this.#network.setFaults({ delay: { kind: 'uniform', minMs: 1, maxMs: 5 } });
    for (const id of this.#ids) this.#restart(id);
    const healedAt = this.#clock.now();
    const bound = this.#options.livenessBoundMs ?? 10_000;
    const deadline = healedAt + bound;
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

/** A transfer race under way (see {@link RaftSimulationOptions.transferRace}). */
interface TransferRace {
  leader: NodeId | undefined;
  target: NodeId | undefined;
  /** Whether its TimeoutNow was caught and is held back. */
  held: boolean;
}

function randomLinkFaults(r: Random): LinkFaults {
  return {
    dropRate: r.next() * 0.2,
    duplicateRate: r.next() * 0.05,
    delay: { kind: 'uniform', minMs: 1, maxMs: 1 + r.int(30) },
    reorder: { rate: r.next() * 0.2, maxExtraDelayMs: 1 + r.int(20) },
  };
}
