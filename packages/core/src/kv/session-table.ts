import type { KvResult } from './types.js';

/** What the store remembers about one client (Raft thesis §6.3). */
export interface SessionRecord {
  readonly clientId: string;
  /** The highest sequence applied for this client. */
  lastSequence: number;
  /** The result of that command, returned again for a retry. */
  lastResult: KvResult;
  /** The log index of the client's last applied command; orders eviction. */
  lastIndex: number;
  /** The store's log time when the client last applied a command; drives expiry. */
  lastActive: number;
}

/**
 * The client session table (internal to the KV state machine).
 *
 * Everything here is a function of the log: expiry compares log times carried
 * by `expire-sessions` commands, and eviction picks the session with the
 * oldest log index. Iteration order of the map is never observable, because
 * after a restore it differs from the order on replicas that never restored.
 */
export class SessionTable {
  readonly #sessions = new Map<string, SessionRecord>();

  get size(): number {
    return this.#sessions.size;
  }

  get(clientId: string): SessionRecord | undefined {
    return this.#sessions.get(clientId);
  }

  set(record: SessionRecord): void {
    this.#sessions.set(record.clientId, record);
  }

  clear(): void {
    this.#sessions.clear();
  }

  /** All sessions in ascending client id order. */
  sorted(): SessionRecord[] {
    return [...this.#sessions.values()].sort((a, b) => compareStrings(a.clientId, b.clientId));
  }

  /**
   * Removes the least recently used session (oldest `lastIndex`, ties broken
   * by client id) so the table stays bounded. A linear scan: eviction happens
   * only when the table is full and a new client arrives.
   */
  evictOldest(): string | undefined {
    let oldest: SessionRecord | undefined;
    for (const s of this.#sessions.values()) {
      if (
        oldest === undefined ||
        s.lastIndex < oldest.lastIndex ||
        (s.lastIndex === oldest.lastIndex && compareStrings(s.clientId, oldest.clientId) < 0)
      ) {
        oldest = s;
      }
    }
    if (oldest !== undefined) this.#sessions.delete(oldest.clientId);
    return oldest?.clientId;
  }

  /** Removes sessions idle for more than `ttl` at log time `now`; returns their ids in ascending order. */
  expire(now: number, ttl: number): string[] {
    const expired: string[] = [];
    for (const s of this.#sessions.values()) {
      if (now - s.lastActive > ttl) expired.push(s.clientId);
    }
    for (const id of expired) this.#sessions.delete(id);
    return expired.sort(compareStrings);
  }
}

/** Code-unit order, the same on every replica (unlike `localeCompare`). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
