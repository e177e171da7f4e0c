import type { Clock, NodeId, Random } from '@synod/core';
import type { SimProcess } from './sim-process.js';

/** A seeded script of stalls: each listed member pauses now and then, like a process with long GC pauses. */
export interface StallScript {
  readonly members: readonly NodeId[];
  /** Mean time between the end of one stall and the start of the next (exponential). */
  readonly meanIntervalMs: number;
  /** Stall lengths are uniform in [minMs, maxMs]. */
  readonly minMs: number;
  readonly maxMs: number;
}

/**
 * A seeded script of slow episodes: each listed member now and then handles
 * its inbound messages late (its receive loop is starved) while its timers
 * keep firing on time.
 */
export interface SlowScript {
  readonly members: readonly NodeId[];
  /** Mean time between the end of one episode and the start of the next (exponential). */
  readonly meanIntervalMs: number;
  /** Episode lengths are uniform in [minDurationMs, maxDurationMs]. */
  readonly minDurationMs: number;
  readonly maxDurationMs: number;
  /** The inbound lag during an episode is uniform in [minLagMs, maxLagMs]. */
  readonly minLagMs: number;
  readonly maxLagMs: number;
}

/** What a fault script needs from the simulation that runs it. */
export interface ScriptHost {
  readonly clock: Clock;
  readonly random: Random;
  process(id: NodeId): SimProcess;
  isCrashed(id: NodeId): boolean;
}

function uniform(random: Random, min: number, max: number): number {
  return Math.round(min + random.next() * (max - min));
}

function exponential(random: Random, mean: number): number {
  return Math.round(-Math.log(1 - random.next()) * mean);
}

/**
 * Runs `script` on `host` until `untilMs`: every member of it stalls again
 * and again, with exponential gaps between stalls.
 *
 * @example
 * ```ts
 * runStallScript(sim, { members: ['m1'], meanIntervalMs: 30_000, minMs: 1_000, maxMs: 5_000 }, 600_000);
 * ```
 */
export function runStallScript(host: ScriptHost, script: StallScript, untilMs = Number.POSITIVE_INFINITY): void {
  for (const id of script.members) {
    const next = (): void => {
      const gap = exponential(host.random, script.meanIntervalMs);
      const length = uniform(host.random, script.minMs, script.maxMs);
      if (host.clock.now() + gap >= untilMs) return;
      host.clock.setTimeout(() => {
        if (host.isCrashed(id)) return;
        host.process(id).stall(length);
        host.clock.setTimeout(next, length);
      }, gap);
    };
    next();
  }
}

/**
 * Runs `script` on `host` until `untilMs`: every member of it has slow
 * episodes, during which it handles each message late by a lag drawn for
 * that episode (see {@link SimProcess.inboundLagMs}).
 *
 * @example
 * ```ts
 * runSlowScript(sim, { members: ['m2'], meanIntervalMs: 60_000, minDurationMs: 10_000, maxDurationMs: 30_000, minLagMs: 1_000, maxLagMs: 10_000 });
 * ```
 */
export function runSlowScript(host: ScriptHost, script: SlowScript, untilMs = Number.POSITIVE_INFINITY): void {
  for (const id of script.members) {
    const next = (): void => {
      const gap = exponential(host.random, script.meanIntervalMs);
      const length = uniform(host.random, script.minDurationMs, script.maxDurationMs);
      const lag = uniform(host.random, script.minLagMs, script.maxLagMs);
      if (host.clock.now() + gap >= untilMs) return;
      host.clock.setTimeout(() => {
        if (host.isCrashed(id)) return;
        host.process(id).inboundLagMs = lag;
        host.clock.setTimeout(() => {
          host.process(id).inboundLagMs = 0;
          next();
        }, length);
      }, gap);
    };
    next();
  }
}
