import { InvalidArgumentError } from '../errors/errors.js';
import { WatchCompactedError } from './kv-errors.js';
import type { KvEvent, KvUnsubscribe, KvWatchListener, KvWatchTarget } from './types.js';

/** Options for one watch. */
export interface KvWatchOptions {
  /**
   * Called once if the watch is cancelled by the store because it can no
   * longer be continued without a gap (a restore from a snapshot whose history
   * starts after the watcher's position). The watch delivers nothing after.
   */
  readonly onCancel?: ((error: WatchCompactedError) => void) | undefined;
}

interface Watcher {
  readonly target: KvWatchTarget;
  readonly listener: KvWatchListener;
  readonly onCancel: ((error: WatchCompactedError) => void) | undefined;
  /** The revision of the next event this watcher has not yet seen (matching or not). */
  next: number;
  active: boolean;
}

function eventKey(event: KvEvent): string {
  return event.type === 'put' ? event.kv.key : event.key;
}

function matches(target: KvWatchTarget, key: string): boolean {
  return 'key' in target ? key === target.key : key.startsWith(target.prefix);
}

/**
 * The bounded history of recent events plus the live watchers (internal to
 * the KV state machine).
 *
 * Invariant: the history holds exactly the events with revisions
 * `compactRevision + 1 … currentRevision`, one per revision, because every
 * mutation bumps the store revision by one and emits one event. That makes
 * "can a watcher start at revision r?" a comparison, and finding its first
 * event an array offset.
 */
export class WatchHub {
  readonly #capacity: number;
  readonly #onListenerError: (error: unknown, event: KvEvent) => void;
  // Dropped events stay in the array until `#head` passes half of it, so
  // trimming is amortised O(1) instead of an O(n) shift per mutation.
  #events: KvEvent[] = [];
  #head = 0;
  #compactRevision = 0;
  #watchers: Watcher[] = [];

  constructor(capacity: number, onListenerError: (error: unknown, event: KvEvent) => void) {
    this.#capacity = capacity;
    this.#onListenerError = onListenerError;
  }

  /** The newest revision no longer in history; watches can start at `compactRevision + 1` or later. */
  get compactRevision(): number {
    return this.#compactRevision;
  }

  get watcherCount(): number {
    return this.#watchers.length;
  }

  /** The retained events, oldest first. */
  history(): readonly KvEvent[] {
    return this.#events.slice(this.#head);
  }

  /** Records an event (whose revision must be the new store revision) and delivers it. */
  append(event: KvEvent): void {
    this.#events.push(event);
    while (this.#events.length - this.#head > this.#capacity) {
      this.#compactRevision = this.#events[this.#head].revision;
      this.#head++;
    }
    if (this.#head > 64 && this.#head * 2 > this.#events.length) {
      this.#events = this.#events.slice(this.#head);
      this.#head = 0;
    }
    // Copy: a listener may unsubscribe itself or others, or add a watch.
    for (const watcher of [...this.#watchers]) this.#deliver(watcher, event);
  }

  /** Replaces the history (on restore) and moves every watcher onto it. */
  reset(events: readonly KvEvent[], compactRevision: number): void {
    // A snapshot may carry more history than this replica keeps.
    const keep = Math.min(events.length, this.#capacity);
    this.#events = events.slice(events.length - keep);
    this.#head = 0;
    this.#compactRevision = compactRevision + (events.length - keep);
    for (const watcher of [...this.#watchers]) {
      if (!watcher.active) continue;
      if (watcher.next <= compactRevision) {
        // The events between the watcher's position and the new history are
        // gone; continuing would silently skip changes.
        this.#remove(watcher);
        watcher.onCancel?.(new WatchCompactedError(watcher.next, compactRevision));
        continue;
      }
      this.#replay(watcher);
    }
  }

  watch(
    target: KvWatchTarget,
    fromRevision: number | undefined,
    currentRevision: number,
    listener: KvWatchListener,
    options: KvWatchOptions | undefined,
  ): KvUnsubscribe {
    if (typeof listener !== 'function') throw new InvalidArgumentError('watch listener must be a function');
    if (
      target === null ||
      typeof target !== 'object' ||
      !(typeof (target as { key?: unknown }).key === 'string' || typeof (target as { prefix?: unknown }).prefix === 'string')
    ) {
      throw new InvalidArgumentError('watch target must be { key } or { prefix }');
    }
    let next = currentRevision + 1;
    if (fromRevision !== undefined) {
      if (!Number.isSafeInteger(fromRevision) || fromRevision < 1) {
        throw new InvalidArgumentError(`fromRevision must be a positive integer, got ${String(fromRevision)}`);
      }
      if (fromRevision <= this.#compactRevision) throw new WatchCompactedError(fromRevision, this.#compactRevision);
      next = fromRevision;
    }
    const watcher: Watcher = { target, listener, onCancel: options?.onCancel, next, active: true };
    this.#watchers.push(watcher);
    this.#replay(watcher);
    return () => this.#remove(watcher);
  }

  #remove(watcher: Watcher): void {
    if (!watcher.active) return;
    watcher.active = false;
    const i = this.#watchers.indexOf(watcher);
    if (i >= 0) this.#watchers.splice(i, 1);
  }

  /** Delivers retained events the watcher has not seen yet. */
  #replay(watcher: Watcher): void {
    const first = this.#head + (watcher.next - this.#compactRevision - 1);
    // Copy the range first: a listener that calls restore() would swap the
    // array while we iterate.
    const pending = this.#events.slice(Math.max(first, this.#head));
    for (const event of pending) this.#deliver(watcher, event);
  }

  #deliver(watcher: Watcher, event: KvEvent): void {
    if (!watcher.active || event.revision < watcher.next) return;
    watcher.next = event.revision + 1;
    if (!matches(watcher.target, eventKey(event))) return;
    try {
      watcher.listener(event);
    } catch (error) {
      // A failing listener is the watcher's problem; it must not interrupt
      // apply, or this replica would diverge from the others.
      this.#onListenerError(error, event);
    }
  }
}
