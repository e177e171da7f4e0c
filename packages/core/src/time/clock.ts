/** An opaque handle for a timer set through a {@link Clock}. */
export interface TimerHandle {
  readonly id: number;
}

/**
 * Time as the protocols see it. Cores never read wall time themselves; drivers
 * pass a Clock in: {@link systemClock} in production, a {@link VirtualClock}
 * in simulations, which makes every run replayable.
 */
export interface Clock {
  /** Milliseconds on a monotonic time line (not necessarily the epoch). */
  now(): number;
  /** Calls `callback` once, after `delayMs` milliseconds of this clock's time. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  /** Cancels a timer; cancelling an expired or unknown timer does nothing. */
  clearTimeout(handle: TimerHandle): void;
}

let nextSystemTimerId = 1;
const systemTimers = new Map<number, ReturnType<typeof setTimeout>>();

/**
 * The real clock: `performance.now()` and Node timers.
 *
 * @example
 * ```ts
 * const node = new RaftNode({ clock: systemClock, ... });
 * ```
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(callback, delayMs) {
    const id = nextSystemTimerId++;
    const timer = setTimeout(() => {
      systemTimers.delete(id);
      callback();
    }, Math.max(0, delayMs));
    systemTimers.set(id, timer);
    return { id };
  },
  clearTimeout(handle) {
    const timer = systemTimers.get(handle.id);
    if (timer !== undefined) {
      clearTimeout(timer);
      systemTimers.delete(handle.id);
    }
  },
};
