import {
  BusyError,
  encodeKvCommand,
  NotLeaderError,
  ProposalDroppedError,
  type Clock,
  type KvCommand,
  type KvQuery,
  type KvQueryResult,
  type KvResult,
  type NodeId,
  type OperationOptions,
  type Random,
  type ReadConsistency,
  type ReadOptions,
} from '@synod/core';
import type { KvInput, KvOutput } from '../history/kv-ops.js';

/** What the workload needs from a node: the consensus node API that RaftNode and MultiPaxosNode share. */
export interface KvNode {
  readonly id: NodeId;
  propose(command: Uint8Array, options?: OperationOptions): Promise<KvResult>;
  read(query: KvQuery, options?: ReadOptions): Promise<KvQueryResult>;
}

/** What the workload needs from the cluster: a way to reach a running node. */
export interface WorkloadCluster {
  /** The running node with this id, or undefined when it is down. */
  node(id: NodeId): KvNode | undefined;
  readonly ids: readonly NodeId[];
}

/** How the workload reports each operation; the history recorder implements it. */
export interface OperationLog {
  invoke(client: string, input: KvInput): number;
  ok(opId: number, output: KvOutput): void;
  fail(opId: number): void;
  /** The outcome is unknown: the operation stays open until the end of the history. */
  info(opId: number): void;
}

export interface KvWorkloadOptions {
  readonly clients: number;
  readonly keys: number;
  /** Per-operation deadline in virtual ms. */
  readonly timeoutMs: number;
  /** Think time between a client's operations, in virtual ms [min, max]. */
  readonly thinkMs: readonly [number, number];
  /**
   * The share of gets served as lease reads and as serializable reads; the
   * rest are linearizable (ReadIndex). Lease reads go into the history like
   * linearizable ones (they promise the same). Serializable reads may be
   * stale, so they stay out of the history and go to `onSerializableRead`.
   * @default { lease: 0, serializable: 0 }
   */
  readonly reads?: { readonly lease?: number; readonly serializable?: number };
  /** Checks what a serializable read returned (for example, that it was committed). */
  readonly onSerializableRead?: (node: NodeId, key: string, value: string | null) => void;
}

/**
 * Closed-loop KV clients for the simulator, in the style of Jepsen: each
 * client has one operation in flight, picks a node (the leader it last heard
 * of, or a random one), and records invoke and completion. Mutations whose
 * outcome is unknown (timeout, node stopped) are recorded as `info` and the
 * client continues under a new id, as a crashed Jepsen process would.
 */
export class KvWorkload {
  readonly #cluster: WorkloadCluster;
  readonly #log: OperationLog;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #options: KvWorkloadOptions;
  #running = false;
  #inFlight = 0;
  #valueSeq = 0;
  #leaderHint: NodeId | undefined;
  #directedOps = 0;
  readonly #clientIncarnation: number[] = [];
  readonly counts = { ok: 0, fail: 0, info: 0 };
  /** Reads that completed, by consistency. */
  readonly reads = { linearizable: 0, lease: 0, serializable: 0 };

  constructor(cluster: WorkloadCluster, log: OperationLog, clock: Clock, random: Random, options: KvWorkloadOptions) {
    this.#cluster = cluster;
    this.#log = log;
    this.#clock = clock;
    this.#random = random;
    this.#options = options;
  }

  start(): void {
    this.#running = true;
    for (let c = 0; c < this.#options.clients; c++) {
      this.#clientIncarnation[c] = 0;
      this.#schedule(c);
    }
  }

  /** Stops issuing new operations; those in flight still complete. */
  stop(): void {
    this.#running = false;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Runs one operation on the node `id`, outside the clients' loop, and
   * records it in the history under a client of its own (a put writes a
   * fresh value, as the clients' puts do). Fault patterns use it to aim the
   * workload at the node and key where a bug would show, for example a lease
   * read on a deposed leader of a key the new leader just wrote.
   *
   * @returns the operation's output, or undefined when it failed, its outcome
   *   is unknown, or the node is down.
   * @example
   * ```ts
   * if ((await workload.directed('n2', { f: 'put', key: 'k0' })) !== undefined) {
   *   await workload.directed('n1', { f: 'get', key: 'k0', consistency: 'lease' });
   * }
   * ```
   */
  async directed(
    id: NodeId,
    op: { readonly f: 'put'; readonly key: string } | { readonly f: 'get'; readonly key: string; readonly consistency: 'linearizable' | 'lease' },
  ): Promise<KvOutput | undefined> {
    const node = this.#cluster.node(id);
    if (node === undefined) return undefined;
    const input: KvInput = op.f === 'get' ? { f: 'get', key: op.key } : { f: 'put', key: op.key, value: `v${++this.#valueSeq}` };
    const consistency: ReadConsistency = op.f === 'get' ? op.consistency : 'linearizable';
    const outcome = await this.#recorded(`directed${++this.#directedOps}`, node, input, consistency);
    return outcome.ok ? outcome.output : undefined;
  }

  #schedule(client: number): void {
    if (!this.#running) return;
    const [min, max] = this.#options.thinkMs;
    this.#clock.setTimeout(() => void this.#runOne(client), min + this.#random.int(max - min + 1));
  }

  #pickNode(): KvNode | undefined {
    if (this.#leaderHint !== undefined && this.#random.next() < 0.8) {
      const leader = this.#cluster.node(this.#leaderHint);
      if (leader !== undefined) return leader;
    }
    const ids = this.#cluster.ids;
    return this.#cluster.node(ids[this.#random.int(ids.length)]!);
  }

  #nextInput(): KvInput {
    const key = `k${this.#random.int(this.#options.keys)}`;
    const roll = this.#random.int(10);
    if (roll < 4) return { f: 'get', key };
    if (roll < 7) return { f: 'put', key, value: `v${++this.#valueSeq}` };
    if (roll < 9) {
      const expected = this.#random.int(3) === 0 ? null : `v${1 + this.#random.int(Math.max(1, this.#valueSeq))}`;
      return { f: 'cas', key, expected, value: `v${++this.#valueSeq}` };
    }
    return { f: 'delete', key };
  }

  /** Which consistency a get uses (see {@link KvWorkloadOptions.reads}). */
  #readConsistency(): ReadConsistency {
    const lease = this.#options.reads?.lease ?? 0;
    const serializable = this.#options.reads?.serializable ?? 0;
    if (lease === 0 && serializable === 0) return 'linearizable';
    const roll = this.#random.next();
    if (roll < serializable) return 'serializable';
    return roll < serializable + lease ? 'lease' : 'linearizable';
  }

  async #runOne(client: number): Promise<void> {
    if (!this.#running) return;
    const node = this.#pickNode();
    if (node === undefined) {
      this.#schedule(client);
      return;
    }
    const input = this.#nextInput();
    const consistency = input.f === 'get' ? this.#readConsistency() : 'linearizable';
    if (input.f === 'get' && consistency === 'serializable') {
      await this.#serializableRead(node, input.key);
      this.#schedule(client);
      return;
    }
    const clientId = `c${client}.${this.#clientIncarnation[client]}`;
    const outcome = await this.#recorded(clientId, node, input, consistency);
    if (!outcome.ok) {
      if (outcome.error instanceof NotLeaderError) this.#leaderHint = outcome.error.leaderHint;
      // A client whose write may or may not have applied starts a new session.
      if (outcome.outcomeUnknown) this.#clientIncarnation[client] = (this.#clientIncarnation[client] ?? 0) + 1;
    }
    this.#schedule(client);
  }

  /**
   * Runs one operation on `node` and records it: in the history (ok, fail,
   * or info when a write may have applied) and in the counts.
   */
  async #recorded(
    clientId: string,
    node: KvNode,
    input: KvInput,
    consistency: ReadConsistency,
  ): Promise<{ readonly ok: true; readonly output: KvOutput } | { readonly ok: false; readonly error: unknown; readonly outcomeUnknown: boolean }> {
    const opId = this.#log.invoke(clientId, input);
    this.#inFlight++;
    try {
      const output = await this.#execute(node, input, consistency);
      this.#log.ok(opId, output);
      this.counts.ok++;
      if (input.f === 'get') this.reads[consistency]++;
      return { ok: true, output };
    } catch (error) {
      if (input.f === 'get' || definitelyNotApplied(error)) {
        this.#log.fail(opId);
        this.counts.fail++;
        return { ok: false, error, outcomeUnknown: false };
      }
      this.#log.info(opId);
      this.counts.info++;
      return { ok: false, error, outcomeUnknown: true };
    } finally {
      this.#inFlight--;
    }
  }

  /** A serializable read: answered from the node's local state, checked by `onSerializableRead`. */
  async #serializableRead(node: KvNode, key: string): Promise<void> {
    let result: KvQueryResult;
    try {
      result = await node.read({ type: 'get', key }, { consistency: 'serializable' });
    } catch {
      return; // a stopped node
    }
    if (result.type !== 'get') throw new Error(`unexpected query result ${result.type}`);
    this.reads.serializable++;
    this.#options.onSerializableRead?.(node.id, key, result.kv?.value ?? null);
  }

  async #execute(node: KvNode, input: KvInput, consistency: ReadConsistency): Promise<KvOutput> {
    const timeoutMs = this.#options.timeoutMs;
    if (input.f === 'get') {
      const result = await node.read({ type: 'get', key: input.key }, { consistency, timeoutMs });
      if (result.type !== 'get') throw new Error(`unexpected query result ${result.type}`);
      return { f: 'get', value: result.kv?.value ?? null };
    }
    const result = await node.propose(encodeKvCommand(toCommand(input)), { timeoutMs });
    switch (result.type) {
      case 'put':
        return { f: 'put' };
      case 'cas':
        return { f: 'cas', swapped: result.succeeded };
      case 'delete':
        return { f: 'delete', existed: result.deleted };
      default:
        throw new Error(`unexpected result ${result.type} for ${input.f}`);
    }
  }
}

function toCommand(input: Exclude<KvInput, { f: 'get' }>): KvCommand {
  switch (input.f) {
    case 'put':
      return { type: 'put', key: input.key, value: input.value };
    case 'delete':
      return { type: 'delete', key: input.key };
    case 'cas':
      return {
        type: 'cas',
        key: input.key,
        expected: input.expected === null ? { kind: 'absent' } : { kind: 'value', value: input.expected },
        value: input.value,
      };
    case 'append':
      throw new Error('append is not part of the simulator workload');
  }
}

/** Errors after which the proposal can never apply; anything else leaves the outcome unknown. */
function definitelyNotApplied(error: unknown): boolean {
  return error instanceof NotLeaderError || error instanceof ProposalDroppedError || error instanceof BusyError;
}
