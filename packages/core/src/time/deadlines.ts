import type { Clock, TimerHandle } from './clock.js';

/**
 * Something that can time out through {@link Deadlines.schedule}. Deadlines
 * files it under its due time and a position there, kept in the two fields
 * below, so that cancelling needs neither a search nor a hash set; a target
 * is therefore scheduled at most once at a time.
 */
export interface Expiring {
  onExpire(): void;
  /** Set by {@link Deadlines.schedule}: the whole millisecond it is due. */
  deadlineAt: number;
  /** Set by {@link Deadlines.schedule}: its position among the timeouts due then. */
  deadlinePosition: number;
}

/** A timeout set through {@link Deadlines.add}; pass it back to cancel it. */
export interface Deadline extends Expiring {
  readonly at: number;
}

/** The timeouts due in one millisecond and the one clock timer that fires them. */
interface Slot {
  readonly timer: TimerHandle;
  /** In the order they were set; a cancelled one leaves a hole. */
  readonly members: (Expiring | undefined)[];
  /** Members not cancelled yet. */
  live: number;
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
  /** Deadline time → the timeouts due then. */
  readonly #due = new Map<number, Slot>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Calls `onExpire` once `delayMs` have passed, unless cancelled first. */
  add(delayMs: number, onExpire: () => void): Deadline {
    const deadline = {
      onExpire,
      deadlineAt: 0,
      deadlinePosition: 0,
      get at(): number {
        return this.deadlineAt;
      },
    };
    this.schedule(delayMs, deadline);
    return deadline;
  }

  /** Cancels a timeout; cancelling one that fired or was cancelled does nothing. */
  cancel(deadline: Deadline): void {
    this.unschedule(deadline);
  }

  /**
   * Calls `target.onExpire()` once `delayMs` have passed, unless
   * {@link unschedule}d first. The same as {@link add} for an object that
   * already exists (a pending call), without a closure and a deadline
   * object per timeout.
   */
  schedule(delayMs: number, target: Expiring): void {
    const now = this.#clock.now();
    const at = Math.ceil(now + delayMs);
    let slot = this.#due.get(at);
    if (slot === undefined) {
      slot = { timer: this.#clock.setTimeout(() => this.#fire(at), at - now), members: [], live: 0 };
      this.#due.set(at, slot);
    }
    target.deadlineAt = at;
    target.deadlinePosition = slot.members.length;
    slot.members.push(target);
    slot.live++;
  }

  /** Cancels `target`'s timeout; one that fired or was cancelled does nothing. */
  unschedule(target: Expiring): void {
    const slot = this.#due.get(target.deadlineAt);
    // The position is checked: after firing, a new slot may hold the same due time.
    if (slot === undefined || slot.members[target.deadlinePosition] !== target) return;
    slot.members[target.deadlinePosition] = undefined;
    if (--slot.live === 0) {
      this.#clock.clearTimeout(slot.timer);
      this.#due.delete(target.deadlineAt);
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
      if (deadline === undefined) continue;
      try {
        deadline.onExpire();
      } catch (error) {
        if (!failed) [failed, failure] = [true, error];
      }
    }
    if (failed) throw failure;
  }
}
