import {
  MemoryStorage,
  type ConfState,
  type Entry,
  type HardState,
  type Random,
  type Snapshot,
  type Storage,
} from '@synod/core';

type PendingWrite =
  | { readonly kind: 'append'; readonly entries: readonly Entry[] }
  | { readonly kind: 'hard-state'; readonly hardState: HardState }
  | { readonly kind: 'snapshot'; readonly snapshot: Snapshot }
  | { readonly kind: 'create-snapshot'; readonly index: number; readonly data: Uint8Array; readonly confState: ConfState }
  | { readonly kind: 'compact'; readonly index: number };

/** Called with every batch of entries written to the log, for the Log Matching check. */
export type AppendObserver = (entries: readonly Entry[], storage: Storage) => void;

/**
 * Runs `complete` once a sync has reached the disk. The simulator schedules
 * it on its virtual clock a random few milliseconds later, so that a crash
 * can land between a write and the end of its sync.
 */
export type SyncScheduler = (complete: () => void) => void;

/**
 * A Storage for the simulator that models exactly what a crash loses.
 *
 * Writes are visible at once (as with a page cache) but become durable only
 * when a `sync()` started after them completes. With a `scheduleSync`, a
 * sync takes as long as the scheduler waits (virtual time in the
 * simulator); without one it completes at once. {@link SimStorage.crash}
 * returns what a restarted process would find: everything synced, plus a
 * random prefix of the writes not yet synced, because a disk may have
 * written some of them on its own.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * const storage = new SimStorage(undefined, false, (complete) => clock.setTimeout(complete, 2));
 * storage.setHardState({ term: 3, vote: 'n2', commit: 0 });
 * void storage.sync();                                   // takes 2 ms of virtual time
 * const after = storage.crash(new SeededRandom(1));      // the vote may be lost
 * ```
 */
export class SimStorage implements Storage {
  readonly #live: MemoryStorage;
  readonly #durable: MemoryStorage;
  /** Writes not yet durable, oldest first; the first one has sequence number `#durableWrites + 1`. */
  #pending: PendingWrite[] = [];
  /** Writes made durable so far (sequence numbers start at 1). */
  #durableWrites = 0;
  #crashed = false;
  onAppend: AppendObserver | undefined;

  /**
   * @param durable what is on disk at start-up
   * @param lyingSync model a disk whose fsync returns before the data is
   *   durable. Raft is not safe on such a disk; the simulator uses this to
   *   show that its checks notice.
   * @param scheduleSync when a sync completes (see {@link SyncScheduler});
   *   at once when absent
   */
  constructor(
    durable: MemoryStorage = new MemoryStorage(),
    private readonly lyingSync = false,
    private readonly scheduleSync?: SyncScheduler,
  ) {
    this.#durable = durable;
    this.#live = cloneMemoryStorage(durable);
  }

  initialState() {
    return this.#live.initialState();
  }
  entries(lo: number, hi: number, maxBytes?: number) {
    return this.#live.entries(lo, hi, maxBytes);
  }
  term(index: number) {
    return this.#live.term(index);
  }
  firstIndex() {
    return this.#live.firstIndex();
  }
  lastIndex() {
    return this.#live.lastIndex();
  }
  snapshot() {
    return this.#live.snapshot();
  }

  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    this.#live.append(entries);
    this.#pending.push({ kind: 'append', entries });
    this.onAppend?.(entries, this.#live);
  }

  setHardState(hardState: HardState): void {
    this.#live.setHardState(hardState);
    this.#pending.push({ kind: 'hard-state', hardState });
  }

  applySnapshot(snapshot: Snapshot): void {
    this.#live.applySnapshot(snapshot);
    this.#pending.push({ kind: 'snapshot', snapshot });
  }

  createSnapshot(index: number, data: Uint8Array, confState: ConfState): Snapshot {
    const snapshot = this.#live.createSnapshot(index, data, confState);
    this.#pending.push({ kind: 'create-snapshot', index, data, confState });
    return snapshot;
  }

  compact(index: number): void {
    this.#live.compact(index);
    this.#pending.push({ kind: 'compact', index });
  }

  sync(): Promise<void> {
    if (this.lyingSync) return Promise.resolve();
    // An fsync covers the writes made before it started, not those made while it runs.
    const upTo = this.#durableWrites + this.#pending.length;
    if (this.scheduleSync === undefined) {
      this.#makeDurable(upTo);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.scheduleSync!(() => {
        // After a crash this instance is dead: nothing more reaches its disk.
        if (!this.#crashed) this.#makeDurable(upTo);
        resolve();
      });
    });
  }

  /** Makes the writes up to sequence number `upTo` durable (syncs may complete out of order). */
  #makeDurable(upTo: number): void {
    const count = upTo - this.#durableWrites;
    if (count <= 0) return;
    for (const write of this.#pending.slice(0, count)) applyWrite(this.#durable, write);
    this.#pending = this.#pending.slice(count);
    this.#durableWrites = upTo;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** The last index of the durable log: what a crash now would keep. */
  get durableLastIndex(): number {
    return this.#durable.lastIndex();
  }

  /** Number of writes not yet synced. */
  get unsyncedWrites(): number {
    return this.#pending.length;
  }

  /**
   * What survives a crash now: the synced state plus a random prefix of the
   * unsynced writes. The returned storage is a new instance for the
   * restarted node; this one must not be used again.
   */
  crash(random: Random): SimStorage {
    const survivors = random.int(this.#pending.length + 1);
    for (const write of this.#pending.slice(0, survivors)) applyWrite(this.#durable, write);
    this.#pending = [];
    this.#crashed = true;
    return new SimStorage(cloneMemoryStorage(this.#durable), this.lyingSync, this.scheduleSync);
  }
}

function applyWrite(storage: MemoryStorage, write: PendingWrite): void {
  switch (write.kind) {
    case 'append':
      storage.append(write.entries);
      break;
    case 'hard-state':
      storage.setHardState(write.hardState);
      break;
    case 'snapshot':
      storage.applySnapshot(write.snapshot);
      break;
    case 'create-snapshot':
      storage.createSnapshot(write.index, write.data, write.confState);
      break;
    case 'compact':
      storage.compact(write.index);
      break;
  }
}

/** A deep copy of a MemoryStorage, through its public API. */
export function cloneMemoryStorage(source: MemoryStorage): MemoryStorage {
  const copy = new MemoryStorage();
  const snapshot = source.snapshot();
  if (snapshot.metadata.index > 0) copy.applySnapshot(snapshot);
  const first = source.firstIndex();
  const last = source.lastIndex();
  if (last >= first) copy.append(source.entries(first, last + 1));
  copy.setHardState(source.initialState().hardState);
  return copy;
}
