import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { SeededRandom } from '../../src/time/random.js';
import { MultiPaxosCore, type MultiPaxosConfig } from '../../src/paxos/multi-paxos-core.js';
import type { PaxosMessage } from '../../src/paxos/types.js';
import type { Entry } from '../../src/raft/types.js';

/**
 * Hand-stepped Multi-Paxos cores on MemoryStorage: `settle()` runs every
 * Ready (persist, send, apply, advance) and delivers messages until quiet.
 * Messages can be filtered (dropped) to build scenarios.
 */
export class PaxosCluster {
  readonly cores = new Map<string, MultiPaxosCore>();
  readonly storages = new Map<string, MemoryStorage>();
  readonly applied = new Map<string, Entry[]>();
  queue: PaxosMessage[] = [];
  sent: PaxosMessage[] = [];
  drop: (m: PaxosMessage) => boolean = () => false;

  constructor(
    readonly ids: string[],
    readonly config: Partial<MultiPaxosConfig> = {},
    seed = 1,
  ) {
    const random = new SeededRandom(seed);
    for (const id of ids) {
      this.storages.set(id, new MemoryStorage());
      this.applied.set(id, []);
      this.cores.set(id, new MultiPaxosCore({ id, voters: ids, ...config }, this.storages.get(id)!, random.fork()));
    }
  }

  core(id: string): MultiPaxosCore {
    return this.cores.get(id)!;
  }

  /** Restarts a node from its storage (everything it persisted survives). */
  restart(id: string, seed = 99): void {
    this.cores.set(id, new MultiPaxosCore({ id, voters: this.ids, ...this.config }, this.storages.get(id)!, new SeededRandom(seed)));
    this.applied.set(id, []);
  }

  /** Runs Readies and deliveries until nothing moves (or `limit` rounds). */
  settle(limit = 1000): void {
    for (let round = 0; round < limit; round++) {
      let moved = false;
      for (const [id, core] of this.cores) {
        while (core.hasReady()) {
          moved = true;
          const ready = core.ready();
          const storage = this.storages.get(id)!;
          if (ready.snapshot !== undefined) storage.applySnapshot(ready.snapshot);
          if (ready.entries.length > 0) storage.append(ready.entries);
          if (ready.hardState !== undefined) storage.setHardState(ready.hardState);
          for (const m of ready.messages) {
            if (m.to === id) core.step(m);
            else {
              this.sent.push(m);
              this.queue.push(m);
            }
          }
          this.applied.get(id)!.push(...ready.committedEntries);
          core.advance(ready);
        }
      }
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) {
        if (this.drop(m)) continue;
        moved = true;
        this.cores.get(m.to)?.step(m);
      }
      if (!moved) return;
    }
  }

  /** Ticks every core `n` times, settling after each. */
  tick(n = 1, only?: string[]): void {
    for (let i = 0; i < n; i++) {
      for (const [id, core] of this.cores) if (only === undefined || only.includes(id)) core.tick();
      this.settle();
    }
  }

  leader(): string | undefined {
    return [...this.cores].find(([, c]) => c.status().role === 'leader')?.[0];
  }

  /** Applied values as text ('' for a no-op). */
  appliedText(id: string): string[] {
    return this.applied.get(id)!.map((e) => new TextDecoder().decode(e.data));
  }
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
