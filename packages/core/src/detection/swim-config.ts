import { InvalidArgumentError } from '../errors/errors.js';

/**
 * Tuning of SWIM and Lifeguard. All durations are milliseconds of the injected
 * clock. The presets mirror the LAN, WAN and local profiles that users of
 * HashiCorp memberlist (Consul, Nomad, Serf) know.
 */
export interface SwimConfig {
  /** Time between two probes of this node (SWIM's protocol period T'). */
  readonly probeIntervalMs: number;
  /** How long to wait for a direct ack before asking others to probe indirectly. Must be < probeIntervalMs. */
  readonly probeTimeoutMs: number;
  /** k of SWIM §3.1: how many members are asked to probe indirectly. */
  readonly indirectChecks: number;
  /** Each update is piggybacked retransmitMult · ceil(log10(N + 1)) times (SWIM §4.1 "λ log n"). */
  readonly retransmitMult: number;
  /** Minimum suspicion timeout = suspicionMult · max(1, log10(N)) · probeInterval. */
  readonly suspicionMult: number;
  /** Lifeguard: a fresh suspicion waits suspicionMaxTimeoutMult times the minimum. */
  readonly suspicionMaxTimeoutMult: number;
  /** Period of full-state anti-entropy with one random member (0 disables). Scaled up for clusters above 32 members. */
  readonly pushPullIntervalMs: number;
  /** Period of gossip rounds that send pending updates to `gossipNodes` random members (0 disables). */
  readonly gossipIntervalMs: number;
  /** Members gossiped to per gossip round. */
  readonly gossipNodes: number;
  /** How long dead or departed members keep being gossiped to and remembered, so news still reaches them after a partition heals. */
  readonly gossipToTheDeadMs: number;
  /** Lifeguard: upper bound of the local health multiplier (1 disables it). */
  readonly awarenessMaxMultiplier: number;
  /**
   * Budget for updates piggybacked on one message, in estimated encoded bytes
   * (about 24 bytes plus the node ids per update). Keeps messages under a
   * datagram-friendly size, as memberlist does with its UDP buffer.
   */
  readonly maxPiggybackBytes: number;
  /**
   * Lifeguard on (default) or plain SWIM (for comparisons): with it off, the
   * awareness multiplier stays at 1, the suspicion timeout is fixed at its
   * minimum, relays send no nacks and suspected members get no buddy warning.
   */
  readonly lifeguard: boolean;
}

/** memberlist's DefaultLANConfig: a 1 s probe period for members on one network. */
export const SWIM_LAN: SwimConfig = Object.freeze({
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  retransmitMult: 4,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  pushPullIntervalMs: 30_000,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  gossipToTheDeadMs: 30_000,
  awarenessMaxMultiplier: 8,
  maxPiggybackBytes: 1400,
  lifeguard: true,
});

/** memberlist's DefaultWANConfig: slower and more tolerant, for members across regions. */
export const SWIM_WAN: SwimConfig = Object.freeze({
  ...SWIM_LAN,
  probeIntervalMs: 5000,
  probeTimeoutMs: 3000,
  suspicionMult: 6,
  pushPullIntervalMs: 60_000,
  gossipIntervalMs: 500,
  gossipNodes: 4,
  gossipToTheDeadMs: 60_000,
});

/** memberlist's DefaultLocalConfig: fast, for members on one host or in tests. */
export const SWIM_LOCAL: SwimConfig = Object.freeze({
  ...SWIM_LAN,
  probeTimeoutMs: 200,
  indirectChecks: 1,
  retransmitMult: 2,
  suspicionMult: 3,
  pushPullIntervalMs: 15_000,
  gossipIntervalMs: 100,
  gossipToTheDeadMs: 15_000,
});

/** The name of a built-in profile. */
export type SwimPreset = 'lan' | 'wan' | 'local';

const PRESETS: Readonly<Record<SwimPreset, SwimConfig>> = { lan: SWIM_LAN, wan: SWIM_WAN, local: SWIM_LOCAL };

/**
 * Builds a validated configuration from a preset and overrides.
 *
 * @throws InvalidArgumentError when a value is out of range.
 * @example
 * ```ts
 * const config = swimConfig('lan', { probeIntervalMs: 500, probeTimeoutMs: 200 });
 * const plainSwim = swimConfig('lan', { lifeguard: false });
 * ```
 */
export function swimConfig(preset: SwimPreset = 'lan', overrides: Partial<SwimConfig> = {}): SwimConfig {
  const config: SwimConfig = { ...PRESETS[preset], ...overrides };
  validateSwimConfig(config);
  return Object.freeze(config);
}

/**
 * Throws InvalidArgumentError when `config` is inconsistent.
 *
 * @example
 * ```ts
 * validateSwimConfig({ ...SWIM_LAN, probeTimeoutMs: 2_000 }); // throws: timeout must be below the interval
 * ```
 */
export function validateSwimConfig(config: SwimConfig): void {
  const positive: (keyof SwimConfig)[] = ['probeIntervalMs', 'probeTimeoutMs', 'suspicionMult', 'maxPiggybackBytes'];
  for (const key of positive) {
    const value = config[key];
    if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
      throw new InvalidArgumentError(`${key} must be a positive finite number, got ${String(value)}`);
    }
  }
  const nonNegative: (keyof SwimConfig)[] = ['pushPullIntervalMs', 'gossipIntervalMs', 'gossipToTheDeadMs'];
  for (const key of nonNegative) {
    const value = config[key];
    if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
      throw new InvalidArgumentError(`${key} must be a finite number >= 0, got ${String(value)}`);
    }
  }
  const integers: (keyof SwimConfig)[] = ['indirectChecks', 'gossipNodes', 'retransmitMult'];
  for (const key of integers) {
    const value = config[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new InvalidArgumentError(`${key} must be an integer >= 0, got ${String(value)}`);
    }
  }
  if (config.retransmitMult < 1) throw new InvalidArgumentError('retransmitMult must be >= 1');
  if (config.probeTimeoutMs >= config.probeIntervalMs) {
    // The indirect phase runs between the timeout and the end of the period.
    throw new InvalidArgumentError(
      `probeTimeoutMs (${config.probeTimeoutMs}) must be smaller than probeIntervalMs (${config.probeIntervalMs})`,
    );
  }
  if (!(config.suspicionMaxTimeoutMult >= 1)) throw new InvalidArgumentError('suspicionMaxTimeoutMult must be >= 1');
  if (!Number.isInteger(config.awarenessMaxMultiplier) || config.awarenessMaxMultiplier < 1) {
    throw new InvalidArgumentError('awarenessMaxMultiplier must be an integer >= 1');
  }
}

/**
 * The retransmit limit of one update: retransmitMult · ceil(log10(N + 1))
 * (SWIM §4.1: λ·log n transmissions reach every member with high probability).
 *
 * @example
 * ```ts
 * retransmitLimit(4, 1000); // 16
 * ```
 */
export function retransmitLimit(retransmitMult: number, members: number): number {
  return retransmitMult * Math.ceil(Math.log10(members + 1));
}

/**
 * The minimum suspicion timeout for a cluster of `members`:
 * suspicionMult · max(1, log10(N)) · probeInterval. The log term lets news of
 * the suspicion (and the refutation) reach the larger cluster in time; the
 * floor at 1 keeps small clusters from getting a near-zero timeout (log10(1) = 0),
 * as memberlist does.
 *
 * @example
 * ```ts
 * suspicionTimeout(4, 100, 1000); // 8000
 * ```
 */
export function suspicionTimeout(suspicionMult: number, members: number, probeIntervalMs: number): number {
  const scale = Math.max(1, Math.log10(Math.max(1, members)));
  return Math.floor(suspicionMult * scale * probeIntervalMs);
}

/**
 * The push-pull interval for `members`: the base interval up to 32 members,
 * then one more multiple for every doubling, so full-state traffic per member
 * grows only logarithmically with cluster size.
 *
 * @example
 * ```ts
 * pushPullInterval(30_000, 1000); // 180000
 * ```
 */
export function pushPullInterval(baseMs: number, members: number): number {
  const threshold = 32;
  if (members <= threshold) return baseMs;
  const multiplier = Math.ceil(Math.log2(members) - Math.log2(threshold)) + 1;
  return baseMs * multiplier;
}

/**
 * The documented worst case, for a healthy cluster of `members` without
 * message loss, from a member's crash until every other member holds it
 * `dead`:
 *
 * - its first suspicion within 2(N − 1) + 1 probe periods: every member
 *   probes every other once per round of N − 1 periods (SWIM §4.3), so two
 *   probes of one target are at most 2(N − 1) periods apart, plus the period
 *   in which the probe fails;
 * - a dead verdict at most the maximum suspicion timeout later (Lifeguard
 *   starts there and shrinks it with confirmations; plain SWIM uses the
 *   minimum), each member timing the suspicion from when it heard it;
 * - two more periods for the verdict's gossip to reach everyone.
 *
 * Lifeguard stretches the periods of members that are themselves unhealthy
 * (up to `awarenessMaxMultiplier` times); the bound assumes they are not.
 *
 * @example
 * ```ts
 * swimDetectionBoundMs(swimConfig('lan'), 5); // 9 s + 24 s + 2 s = 35000
 * ```
 */
export function swimDetectionBoundMs(config: SwimConfig, members: number): number {
  const n = Math.max(2, members);
  const minSuspicion = suspicionTimeout(config.suspicionMult, n, config.probeIntervalMs);
  const maxSuspicion = config.lifeguard ? minSuspicion * config.suspicionMaxTimeoutMult : minSuspicion;
  return (2 * (n - 1) + 1) * config.probeIntervalMs + maxSuspicion + 2 * config.probeIntervalMs;
}
