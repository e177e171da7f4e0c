import { InvalidArgumentError, type Random } from '@synod/core';

/**
 * How long a message spends on a link, in milliseconds of the network's clock.
 *
 * - `fixed`: every message takes exactly `ms`. The only distribution that keeps
 *   a link first-in first-out, because timers due at the same instant fire in
 *   the order they were set.
 * - `uniform`: uniformly distributed in `[minMs, maxMs]`.
 * - `exponential`: `minMs` plus an exponentially distributed tail with mean
 *   `meanMs`, capped at `maxMs`. Models the long tail of a loaded network, where
 *   most messages are quick and a few are very late.
 *
 * @example
 * ```ts
 * const lan: DelayDistribution = { kind: 'uniform', minMs: 1, maxMs: 5 };
 * const wan: DelayDistribution = { kind: 'exponential', minMs: 20, meanMs: 15, maxMs: 500 };
 * ```
 */
export type DelayDistribution =
  | { readonly kind: 'fixed'; readonly ms: number }
  | { readonly kind: 'uniform'; readonly minMs: number; readonly maxMs: number }
  | { readonly kind: 'exponential'; readonly meanMs: number; readonly maxMs: number; readonly minMs?: number };

/**
 * Reordering: a fraction of messages gets an extra random delay, so messages
 * sent after them overtake them.
 */
export interface ReorderFaults {
  /** Probability in [0, 1] that a message is held back. */
  readonly rate: number;
  /** The extra delay is uniform in [1, maxExtraDelayMs]. */
  readonly maxExtraDelayMs: number;
}

/**
 * The faults applied to a link (a direction between two nodes). Every field is
 * optional; a missing field means "no fault of that kind" at network level and
 * "inherit the network's setting" in a per-link override.
 *
 * @example
 * ```ts
 * const flaky: LinkFaults = {
 *   dropRate: 0.05,
 *   duplicateRate: 0.01,
 *   delay: { kind: 'uniform', minMs: 1, maxMs: 20 },
 *   reorder: { rate: 0.1, maxExtraDelayMs: 50 },
 * };
 * ```
 */
export interface LinkFaults {
  /**
   * Probability in [0, 1] that a message is lost.
   * @default 0
   */
  readonly dropRate?: number;
  /**
   * Probability in [0, 1] that a delivered message arrives twice. The copy
   * draws its own delay, so it may arrive before or after the original.
   * @default 0
   */
  readonly duplicateRate?: number;
  /**
   * Time on the wire.
   * @default { kind: 'fixed', ms: 1 }
   */
  readonly delay?: DelayDistribution;
  /**
   * Extra delay for a fraction of messages so that later ones overtake them.
   * @default undefined (no reordering beyond what the delay distribution causes)
   */
  readonly reorder?: ReorderFaults;
}

/** {@link LinkFaults} with every field filled in. */
export interface ResolvedLinkFaults {
  readonly dropRate: number;
  readonly duplicateRate: number;
  readonly delay: DelayDistribution;
  readonly reorder: ReorderFaults | undefined;
}

/**
 * One millisecond rather than zero: a request/response loop whose messages
 * take no time would keep a virtual clock at one instant forever, and
 * `VirtualClock.advance` would never return.
 */
export const DEFAULT_DELAY: DelayDistribution = Object.freeze({ kind: 'fixed', ms: 1 });

export const NO_FAULTS: ResolvedLinkFaults = Object.freeze({
  dropRate: 0,
  duplicateRate: 0,
  delay: DEFAULT_DELAY,
  reorder: undefined,
});

/** Applies `override` on top of `base`, field by field. */
export function mergeFaults(base: ResolvedLinkFaults, override: LinkFaults | undefined): ResolvedLinkFaults {
  if (override === undefined) return base;
  return {
    dropRate: override.dropRate ?? base.dropRate,
    duplicateRate: override.duplicateRate ?? base.duplicateRate,
    delay: override.delay ?? base.delay,
    reorder: 'reorder' in override ? override.reorder : base.reorder,
  };
}

function checkRate(name: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new InvalidArgumentError(`${name} must be a number in [0, 1], got ${value}`);
  }
}

function checkMs(name: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(`${name} must be a finite number of milliseconds >= 0, got ${value}`);
  }
}

/**
 * Rejects fault settings that would make sampling meaningless, so a typo fails
 * where it is written rather than as a strange simulation later.
 *
 * @throws InvalidArgumentError
 */
export function validateFaults(faults: LinkFaults | undefined): void {
  if (faults === undefined) return;
  checkRate('dropRate', faults.dropRate);
  checkRate('duplicateRate', faults.duplicateRate);
  if (faults.reorder !== undefined) {
    checkRate('reorder.rate', faults.reorder.rate);
    checkMs('reorder.maxExtraDelayMs', faults.reorder.maxExtraDelayMs);
  }
  const delay = faults.delay;
  if (delay === undefined) return;
  switch (delay.kind) {
    case 'fixed':
      checkMs('delay.ms', delay.ms);
      return;
    case 'uniform':
      checkMs('delay.minMs', delay.minMs);
      checkMs('delay.maxMs', delay.maxMs);
      if (delay.maxMs < delay.minMs) {
        throw new InvalidArgumentError(`delay.maxMs (${delay.maxMs}) must be >= delay.minMs (${delay.minMs})`);
      }
      return;
    case 'exponential': {
      checkMs('delay.meanMs', delay.meanMs);
      checkMs('delay.maxMs', delay.maxMs);
      checkMs('delay.minMs', delay.minMs);
      const min = delay.minMs ?? 0;
      if (delay.maxMs < min) {
        throw new InvalidArgumentError(`delay.maxMs (${delay.maxMs}) must be >= delay.minMs (${min})`);
      }
      return;
    }
    default: {
      const unknown: { kind?: unknown } = delay;
      throw new InvalidArgumentError(`unknown delay kind ${String(unknown.kind)}`);
    }
  }
}

/** Draws one delay from `distribution`, using only `random`. */
export function sampleDelay(distribution: DelayDistribution, random: Random): number {
  switch (distribution.kind) {
    case 'fixed':
      return distribution.ms;
    case 'uniform':
      return distribution.minMs + random.next() * (distribution.maxMs - distribution.minMs);
    case 'exponential': {
      const min = distribution.minMs ?? 0;
      // Inverse-CDF sampling; 1 - u is in (0, 1], so the logarithm is finite.
      const tail = -distribution.meanMs * Math.log(1 - random.next());
      return Math.min(distribution.maxMs, min + tail);
    }
  }
}

/**
 * The extra hold-back for reordering, or 0. Always draws from `random` when
 * reordering is configured, so that whether a message is held back does not
 * shift the random stream for the messages after it.
 */
export function sampleReorderDelay(reorder: ReorderFaults | undefined, random: Random): number {
  if (reorder === undefined || reorder.rate <= 0) return 0;
  const roll = random.next();
  const extra = 1 + random.next() * Math.max(0, reorder.maxExtraDelayMs - 1);
  return roll < reorder.rate ? extra : 0;
}
