import { RaftCore } from '../../src/raft/raft-core.js';
import type { RaftConfig } from '../../src/raft/raft-config.js';
import type { RaftMessage, Ready } from '../../src/raft/types.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { SeededRandom } from '../../src/time/random.js';

/** A core driven by hand: `drain()` plays the driver and returns what it would have sent. */
export interface Harness {
  readonly core: RaftCore;
  readonly storage: MemoryStorage;
  /** Runs every Ready through storage and advance; returns the messages and the Readies. */
  drain(): { messages: RaftMessage[]; readies: Ready[] };
}

export function harness(
  id: string,
  voters: readonly string[],
  config: Partial<Omit<RaftConfig, 'id'>> = {},
  storage: MemoryStorage = new MemoryStorage(),
  seed = 7,
): Harness {
  const core = new RaftCore({ id, voters, ...config }, storage, new SeededRandom(seed));
  return {
    core,
    storage,
    drain() {
      const messages: RaftMessage[] = [];
      const readies: Ready[] = [];
      while (core.hasReady()) {
        const rd = core.ready();
        readies.push(rd);
        if (rd.snapshot !== undefined) storage.applySnapshot(rd.snapshot);
        if (rd.entries.length > 0) storage.append(rd.entries);
        if (rd.hardState !== undefined) storage.setHardState(rd.hardState);
        messages.push(...rd.messages);
        for (const e of rd.committedEntries) if (e.type === 'conf-change') core.applyConfChange(e);
        core.advance(rd);
      }
      return { messages, readies };
    },
  };
}

/** Ticks until the predicate holds (at most `limit` ticks); returns the number of ticks. */
export function tickUntil(core: RaftCore, predicate: () => boolean, limit = 1000): number {
  for (let i = 1; i <= limit; i++) {
    core.tick();
    if (predicate()) return i;
  }
  throw new Error('condition never held');
}

export function voteRequest(
  from: string,
  to: string,
  term: number,
  lastLogIndex: number,
  lastLogTerm: number,
  type: 'vote' | 'prevote' = 'vote',
  leadershipTransfer = false,
): RaftMessage {
  return { type, from, to, term, lastLogIndex, lastLogTerm, leadershipTransfer };
}

export function heartbeat(from: string, to: string, term: number, commit = 0, context = ''): RaftMessage {
  return { type: 'heartbeat', from, to, term, commit, context };
}
