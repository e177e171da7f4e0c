import type { ConfState, Entry, HardState, InitialState, Snapshot, Storage } from '@synod/core';
import type { AppendObserver } from './sim-storage.js';

/**
 * Wraps any {@link Storage} (the simulator's file mode wraps a FileStorage)
 * and reports every batch of appended entries to `onAppend`, as
 * {@link SimStorage} does, so the Log Matching check sees what each node
 * writes whatever stores it; and each installed snapshot to
 * `onApplySnapshot`, where the simulator may cut the power.
 */
export class ObservedStorage implements Storage {
  onAppend: AppendObserver | undefined;
  /** Called after a snapshot from the leader replaced the log (before the next sync). */
  onApplySnapshot: ((snapshot: Snapshot) => void) | undefined;

  constructor(readonly inner: Storage) {}

  initialState(): InitialState {
    return this.inner.initialState();
  }
  entries(lo: number, hi: number, maxBytes?: number): Entry[] {
    return this.inner.entries(lo, hi, maxBytes);
  }
  term(index: number): number {
    return this.inner.term(index);
  }
  firstIndex(): number {
    return this.inner.firstIndex();
  }
  lastIndex(): number {
    return this.inner.lastIndex();
  }
  snapshot(): Snapshot {
    return this.inner.snapshot();
  }

  append(entries: readonly Entry[]): void {
    this.inner.append(entries);
    if (entries.length > 0) this.onAppend?.(entries, this.inner);
  }
  setHardState(hardState: HardState): void {
    this.inner.setHardState(hardState);
  }
  applySnapshot(snapshot: Snapshot): void {
    this.inner.applySnapshot(snapshot);
    this.onApplySnapshot?.(snapshot);
  }
  createSnapshot(index: number, data: Uint8Array, confState: ConfState): Snapshot {
    return this.inner.createSnapshot(index, data, confState);
  }
  compact(index: number): void {
    this.inner.compact(index);
  }
  sync(): Promise<void> {
    return this.inner.sync();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
