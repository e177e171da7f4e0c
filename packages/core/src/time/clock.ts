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
type SystemTimer = { readonly immediate: true; readonly handle: ReturnType<typeof setImmediate> } | { readonly immediate: false; readonly handle: ReturnType<typeof setTimeout> };
const systemTimers = new Map<number, SystemTimer>();

/**
 * The real clock: `performance.now()` and Node timers. A zero delay runs on
 * `setImmediate` (next turn of the event loop) rather than `setTimeout(0)`,
 * which Node clamps to 1 ms: in-process message passing would otherwise cost
 * a millisecond a hop.
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
    const fire = (): void => {
      systemTimers.delete(id);
      callback();
    };
    systemTimers.set(
      id,
      delayMs <= 0
        ? { immediate: true, handle: setImmediate(fire) }
        : { immediate: false, handle: setTimeout(fire, delayMs) },
    );
    return { id };
  },
  clearTimeout(handle) {
    const timer = systemTimers.get(handle.id);
    if (timer === undefined) return;
    if (timer.immediate) clearImmediate(timer.handle);
    else clearTimeout(timer.handle);
    systemTimers.delete(handle.id);
  },
};
