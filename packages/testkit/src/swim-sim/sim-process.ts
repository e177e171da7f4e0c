import type { Clock, NodeId, TimerHandle } from '@synod/core';

/**
 * The process a simulated member runs in: its own view of a shared virtual
 * clock, through which every timer and every inbound message of the member
 * passes, so that the simulation can take CPU time away from it.
 *
 * - {@link SimProcess.stall} models a process that does not run for a while
 *   (a long GC pause, SIGSTOP, a VM migration): no timer fires and no message
 *   is handled; both are held and run when the stall ends. Messages keep
 *   arriving (the kernel buffers them) and the process's own sends stop,
 *   because nothing runs to send them.
 * - {@link SimProcess.inboundLagMs} models a slow member (CPU starved, a
 *   backed-up receive loop): every message is handled that long after it
 *   arrived, while timers still fire on time. This is the case Lifeguard's
 *   local health is about: the member's acks come back "late" by its own
 *   fault, and without Lifeguard it blames healthy peers.
 *
 * When a stall ends, the timers that fell due during it run first, then the
 * buffered messages in arrival order. That is the order Node's event loop
 * uses after a pause (the timers phase comes before the poll phase), and it
 * is what makes a paused member wrongly conclude its in-flight probe failed
 * even though the ack is sitting in its receive buffer.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * const process = new SimProcess('m1', clock);
 * const node = new SwimNode({ transport, clock: process, random, clusterId: 'sim' });
 * transport.setHandler((env) => process.deliver(() => node.handleEnvelope(env)));
 * process.stall(3_000); // nothing of m1 runs for 3 s of virtual time
 * ```
 */
export class SimProcess implements Clock {
  readonly id: NodeId;
  readonly #clock: Clock;
  #nextId = 1;
  /** Our timer id → the shared clock's handle, while the timer is pending there. */
  readonly #pending = new Map<number, TimerHandle>();
  /** Timers that fell due during a stall, in due order, with their ids (for cancellation). */
  #heldTimers: { readonly id: number; readonly callback: () => void }[] = [];
  readonly #cancelledHeld = new Set<number>();
  #heldInbound: (() => void)[] = [];
  #stalledUntil = -1;
  #releaseHandle: TimerHandle | undefined;
  #lagMs = 0;
  #stallStart = 0;
  #lastInboundAt = 0;
  /** Total time this process spent stalled, for reports. */
  stalledMs = 0;
  /** Stalls started (an extension of a running stall does not count). */
  stalls = 0;

  constructor(id: NodeId, clock: Clock) {
    this.id = id;
    this.#clock = clock;
  }

  now(): number {
    return this.#clock.now();
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = this.#nextId++;
    const handle = this.#clock.setTimeout(() => {
      this.#pending.delete(id);
      if (this.stalled) this.#heldTimers.push({ id, callback });
      else callback();
    }, delayMs);
    this.#pending.set(id, handle);
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    const inner = this.#pending.get(handle.id);
    if (inner !== undefined) {
      this.#pending.delete(handle.id);
      this.#clock.clearTimeout(inner);
      return;
    }
    // Already due but held by a stall: it must still not run.
    if (this.#heldTimers.some((t) => t.id === handle.id)) this.#cancelledHeld.add(handle.id);
  }

  /** Whether the process is paused right now. */
  get stalled(): boolean {
    return this.#stalledUntil > this.#clock.now() || this.#releaseHandle !== undefined;
  }

  /** Extra time between a message's arrival and its handling (0 = a healthy process). */
  get inboundLagMs(): number {
    return this.#lagMs;
  }

  set inboundLagMs(ms: number) {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`inbound lag must be a finite number >= 0, got ${ms}`);
    this.#lagMs = ms;
  }

  /**
   * Hands an arrived message to the process: it runs `handle` now, after the
   * inbound lag, or when the current stall ends.
   */
  deliver(handle: () => void): void {
    const now = this.#clock.now();
    // The receive path is a queue: a message is never handled before one
    // that arrived earlier, even when the lag shrinks in between.
    const at = Math.max(now + this.#lagMs, this.#lastInboundAt);
    if (at > now) {
      this.#lastInboundAt = at;
      this.#clock.setTimeout(() => this.#handleNow(handle), at - now);
      return;
    }
    this.#handleNow(handle);
  }

  /**
   * Pauses the process for `durationMs` from now; a stall that is already
   * running is extended if this one ends later.
   */
  stall(durationMs: number): void {
    if (!(durationMs > 0)) return;
    const until = this.#clock.now() + durationMs;
    if (this.#releaseHandle !== undefined) {
      if (until <= this.#stalledUntil) return;
      this.#clock.clearTimeout(this.#releaseHandle);
    } else {
      this.stalls++;
      this.#stallStart = this.#clock.now();
    }
    this.#stalledUntil = until;
    this.#releaseHandle = this.#clock.setTimeout(() => this.#release(), durationMs);
  }

  #handleNow(handle: () => void): void {
    if (this.stalled) this.#heldInbound.push(handle);
    else handle();
  }

  #release(): void {
    this.#releaseHandle = undefined;
    this.#stalledUntil = -1;
    this.stalledMs += this.#clock.now() - this.#stallStart;
    const timers = this.#heldTimers;
    const inbound = this.#heldInbound;
    this.#heldTimers = [];
    this.#heldInbound = [];
    for (const timer of timers) {
      if (this.#cancelledHeld.delete(timer.id)) continue;
      timer.callback();
    }
    this.#cancelledHeld.clear();
    for (const handle of inbound) handle();
  }
}
