import { RaftCore } from '../../src/raft/raft-core.js';
import type { RaftConfig } from '../../src/raft/raft-config.js';
import type { Entry, RaftMessage, ReadState, Ready } from '../../src/raft/types.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { SeededRandom } from '../../src/time/random.js';
import type { NodeId } from '../../src/transport/transport.js';

/** One simulated node: its core, its storage and what the driver saw. */
export interface TestNode {
  readonly id: NodeId;
  core: RaftCore;
  readonly storage: MemoryStorage;
  /** Entries applied, in order. */
  readonly applied: Entry[];
  readonly readStates: ReadState[];
  readonly droppedReads: string[];
  /** Every Ready handed out, when `recordReadies` is on. */
  readonly readies: Ready[];
}

export interface NetworkOptions {
  /** Config applied to every node (id and voters are filled in). */
  readonly config?: Partial<Omit<RaftConfig, 'id'>>;
  /** Per-node overrides. */
  readonly configFor?: (id: NodeId) => Partial<Omit<RaftConfig, 'id'>>;
  /** Storage to start a node from (to model existing logs). */
  readonly storageFor?: (id: NodeId) => MemoryStorage | undefined;
  readonly seed?: number;
  readonly recordReadies?: boolean;
}

/**
 * A tiny deterministic network for stepping several RaftCores by hand. It
 * plays the driver for every node: persists each Ready into a MemoryStorage,
 * queues its messages, records applied entries and read states, then calls
 * advance. Messages are delivered in FIFO order; links can be cut and nodes
 * isolated, and a filter can drop or inspect individual messages.
 */
export class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Every message delivered (after filtering), in delivery order. */
  readonly delivered: RaftMessage[] = [];
  /** Messages waiting for delivery. */
  queue: RaftMessage[] = [];
  /** Return false to drop a message. */
  filter: ((m: RaftMessage) => boolean) | undefined;
  readonly #cut = new Set<string>();
  readonly #options: NetworkOptions;
  readonly #ids: readonly NodeId[];

  constructor(ids: readonly NodeId[], options: NetworkOptions = {}) {
    this.#ids = ids;
    this.#options = options;
    ids.forEach((id, i) => {
      const storage = options.storageFor?.(id) ?? new MemoryStorage();
      this.nodes.set(id, {
        id,
        core: this.#makeCore(id, storage, i),
        storage,
        applied: [],
        readStates: [],
        droppedReads: [],
        readies: [],
      });
    });
  }

  #makeCore(id: NodeId, storage: MemoryStorage, i: number, extra: Partial<RaftConfig> = {}): RaftCore {
    const config: RaftConfig = {
      id,
      voters: this.#ids,
      ...this.#options.config,
      ...this.#options.configFor?.(id),
      ...extra,
    };
    return new RaftCore(config, storage, new SeededRandom((this.#options.seed ?? 1) * 1000 + i));
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  core(id: NodeId): RaftCore {
    return this.node(id).core;
  }

  /** Replaces a node's core with a fresh one over the same storage (a crash and restart that lost nothing). */
  restart(id: NodeId): void {
    const n = this.node(id);
    this.queue = this.queue.filter((m) => m.to !== id);
    n.core = this.#makeCore(id, n.storage, this.#ids.indexOf(id), { applied: n.applied.length === 0 ? 0 : n.applied[n.applied.length - 1]!.index });
  }

  /** Drops every message between `a` and `b`, both ways. */
  cut(a: NodeId, b: NodeId): void {
    this.#cut.add(`${a}->${b}`);
    this.#cut.add(`${b}->${a}`);
  }

  /** Cuts `id` off from every other node. */
  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cut(id, other);
  }

  /** Splits the cluster into the given groups (no links across groups). */
  partition(...groups: NodeId[][]): void {
    for (const g of groups) for (const h of groups) if (g !== h) for (const a of g) for (const b of h) this.#cut.add(`${a}->${b}`);
  }

  heal(): void {
    this.#cut.clear();
  }

  /** Runs the driver loop of one node (or all): persist, queue messages, apply, advance. */
  flush(id?: NodeId): void {
    const ids = id === undefined ? [...this.nodes.keys()] : [id];
    for (const nid of ids) {
      const n = this.node(nid);
      while (n.core.hasReady()) {
        const rd = n.core.ready();
        if (this.#options.recordReadies) n.readies.push(rd);
        if (rd.snapshot !== undefined) n.storage.applySnapshot(rd.snapshot);
        if (rd.entries.length > 0) n.storage.append(rd.entries);
        if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
        this.queue.push(...rd.messages);
        n.applied.push(...rd.committedEntries);
        for (const e of rd.committedEntries) if (e.type === 'conf-change') n.core.applyConfChange(e);
        n.readStates.push(...rd.readStates);
        n.droppedReads.push(...rd.droppedReads);
        n.core.advance(rd);
      }
    }
  }

  /** Delivers one batch of queued messages (those queued so far) and flushes. Returns how many were delivered. */
  deliverOnce(): number {
    const batch = this.queue;
    this.queue = [];
    let count = 0;
    for (const m of batch) {
      if (this.#cut.has(`${m.from}->${m.to}`)) continue;
      if (this.filter !== undefined && !this.filter(m)) continue;
      const target = this.nodes.get(m.to);
      if (target === undefined) continue;
      this.delivered.push(m);
      target.core.step(m);
      count++;
      this.flush(m.to);
    }
    return count;
  }

  /** Flushes and delivers until no message is left. Returns the number of delivery rounds. */
  stabilize(maxRounds = 10_000): number {
    this.flush();
    let rounds = 0;
    while (this.queue.length > 0) {
      if (++rounds > maxRounds) throw new Error('network did not stabilize');
      this.deliverOnce();
      this.flush();
    }
    return rounds;
  }

  /** Ticks one node `n` times, stabilizing after each tick. */
  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) {
      this.core(id).tick();
      this.stabilize();
    }
  }

  /** Ticks every node `n` times, stabilizing after each round. */
  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const node of this.nodes.values()) node.core.tick();
      this.stabilize();
    }
  }

  /** Makes `id` campaign and stabilizes; it should then be leader. */
  elect(id: NodeId): void {
    this.core(id).campaign();
    this.stabilize();
  }

  /** Proposes on `id` and stabilizes. */
  propose(id: NodeId, text: string): void {
    this.core(id).propose(new TextEncoder().encode(text));
    this.stabilize();
  }

  /** The ids of nodes that currently believe they are leader. */
  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.core.status().role === 'leader').map((n) => n.id);
  }

  /** The application payloads a node applied (no-ops skipped). */
  appliedText(id: NodeId): string[] {
    return this.node(id)
      .applied.filter((e) => e.data.byteLength > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }

  /** The terms of a node's stored log, index 1 first. */
  logTerms(id: NodeId): number[] {
    const s = this.node(id).storage;
    const terms: number[] = [];
    for (let i = s.firstIndex(); i <= s.lastIndex(); i++) terms.push(s.term(i));
    return terms;
  }
}

export const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Builds a MemoryStorage holding entries with the given terms at indexes 1..n. */
export function storageWithTerms(terms: readonly number[], hardState?: { term: number; commit?: number }): MemoryStorage {
  const storage = new MemoryStorage();
  storage.append(terms.map((term, i) => ({ term, index: i + 1, type: 'normal' as const, data: new Uint8Array(0) })));
  if (hardState !== undefined) storage.setHardState({ term: hardState.term, vote: undefined, commit: hardState.commit ?? 0 });
  return storage;
}
