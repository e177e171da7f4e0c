import type { Clock, TimerHandle } from './clock.js';

interface PendingTimer {
  readonly id: number;
  readonly dueAt: number;
  readonly callback: () => void;
}

/**
 * A deterministic clock for simulations. Time moves only when the owner calls
 * {@link VirtualClock.advance} or {@link VirtualClock.runNext}. Timers due at
 * the same instant fire in the order they were set, so a run depends on
 * nothing but its inputs.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * clock.setTimeout(() => console.log('fired at', clock.now()), 100);
 * clock.advance(150); // prints "fired at 100"
 * ```
 */
export class VirtualClock implements Clock {
  #now: number;
  #nextId = 1;
  // Kept sorted by (dueAt, id); timers are few enough that insertion is cheap
  // compared with a heap's constant factors, and order stays obvious.
  #timers: PendingTimer[] = [];

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer: PendingTimer = { id: this.#nextId++, dueAt: this.#now + Math.max(0, delayMs), callback };
    let lo = 0;
    let hi = this.#timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const other = this.#timers[mid]!;
      if (other.dueAt < timer.dueAt || (other.dueAt === timer.dueAt && other.id < timer.id)) lo = mid + 1;
      else hi = mid;
    }
    this.#timers.splice(lo, 0, timer);
    return { id: timer.id };
  }

  clearTimeout(handle: TimerHandle): void {
    const index = this.#timers.findIndex((t) => t.id === handle.id);
    if (index >= 0) this.#timers.splice(index, 1);
  }

  /** Number of timers not yet fired. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** The time at which the next timer fires, or undefined when none is set. */
  nextDueAt(): number | undefined {
    return this.#timers[0]?.dueAt;
  }

  /**
   * Fires the earliest timer, moving time to its due instant.
   * @returns false when no timer was pending.
   */
  runNext(): boolean {
    const timer = this.#timers.shift();
    if (timer === undefined) return false;
    if (timer.dueAt > this.#now) this.#now = timer.dueAt;
    timer.callback();
    return true;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    this.advanceTo(this.#now + ms);
  }

  /** Moves time forward to `targetMs`, firing due timers in order (including ones they set). */
  advanceTo(targetMs: number): void {
    while (this.#timers.length > 0 && this.#timers[0]!.dueAt <= targetMs) this.runNext();
    if (targetMs > this.#now) this.#now = targetMs;
  }
}
