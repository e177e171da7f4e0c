import type { Clock, TimerHandle } from './clock.js';

/** A timeout set through {@link Deadlines}; pass it back to cancel it. */
export interface Deadline {
  readonly at: number;
  readonly onExpire: () => void;
}

/**
 * Many timeouts on one clock for the price of few timers. Deadlines are
 * rounded up to the next whole millisecond of the clock and share one clock
 * timer per millisecond, instead of one timer each: a node with thousands of
 * calls in flight would otherwise spend more time setting and clearing
 * timers than answering the calls.
 *
 * A timeout therefore fires at most a millisecond late, never early; on a
 * clock with whole-millisecond times and delays (a `VirtualClock` in tests)
 * it fires exactly on time.
 *
 * @internal
 */
export class Deadlines {
  readonly #clock: Clock;
  /** Deadline time → the timeouts due then and the one clock timer that fires them. */
  readonly #due = new Map<number, { readonly timer: TimerHandle; readonly members: Set<Deadline> }>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Calls `onExpire` once `delayMs` have passed, unless cancelled first. */
  add(delayMs: number, onExpire: () => void): Deadline {
    const now = this.#clock.now();
    const at = Math.ceil(now + delayMs);
    const deadline: Deadline = { at, onExpire };
    let slot = this.#due.get(at);
    if (slot === undefined) {
      slot = { timer: this.#clock.setTimeout(() => this.#fire(at), at - now), members: new Set() };
      this.#due.set(at, slot);
    }
    slot.members.add(deadline);
    return deadline;
  }

  /** Cancels a timeout; cancelling one that fired or was cancelled does nothing. */
  cancel(deadline: Deadline): void {
    const slot = this.#due.get(deadline.at);
    if (slot === undefined || !slot.members.delete(deadline)) return;
    if (slot.members.size === 0) {
      this.#clock.clearTimeout(slot.timer);
      this.#due.delete(deadline.at);
    }
  }

  /** Cancels every timeout. */
  clear(): void {
    for (const slot of this.#due.values()) this.#clock.clearTimeout(slot.timer);
    this.#due.clear();
  }

  #fire(at: number): void {
    const slot = this.#due.get(at);
    if (slot === undefined) return;
    // Removed first, so that a callback setting a new timeout due at once
    // gets a timer of its own.
    this.#due.delete(at);
    // Every timeout fires even if one callback throws; the first error then goes on to the clock.
    let failed = false;
    let failure: unknown;
    for (const deadline of slot.members) {
      try {
        deadline.onExpire();
      } catch (error) {
        if (!failed) [failed, failure] = [true, error];
      }
    }
    if (failed) throw failure;
  }
}
