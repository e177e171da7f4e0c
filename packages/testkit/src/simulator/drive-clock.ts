import type { VirtualClock } from '@synod/core';

/** Lets every promise continuation that the last event caused run, before the next event. */
export function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Advances a virtual clock by `ms`, one timer at a time, letting promise
 * continuations run after each (drivers like RaftNode await their storage).
 * Use it to test async code on virtual time without waiting on the wall clock.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * const answer = node.propose(cmd);
 * await driveClock(clock, 1000);
 * ```
 */
export async function driveClock(clock: VirtualClock, ms: number): Promise<void> {
  const target = clock.now() + ms;
  await drainMicrotasks();
  for (;;) {
    const due = clock.nextDueAt();
    if (due === undefined || due > target) break;
    clock.runNext();
    await drainMicrotasks();
  }
  clock.advanceTo(target);
  await drainMicrotasks();
}

/**
 * Drives the clock until `condition()` holds, or fails after `limitMs` of
 * virtual time.
 */
export async function driveUntil(clock: VirtualClock, condition: () => boolean, limitMs = 10_000): Promise<void> {
  const deadline = clock.now() + limitMs;
  await drainMicrotasks();
  while (!condition()) {
    const due = clock.nextDueAt();
    if (due === undefined || due > deadline) {
      throw new Error(`condition not met within ${limitMs} ms of virtual time`);
    }
    clock.runNext();
    await drainMicrotasks();
  }
}
