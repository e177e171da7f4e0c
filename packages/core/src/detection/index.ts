/**
 * Failure detection: heartbeat and phi accrual detectors, RFC 6298 RTT
 * estimation, SWIM membership with Lifeguard (a pure core plus its driver),
 * and probes over a transport or plain TCP.
 *
 * @example
 * ```ts
 * import { PhiAccrualDetector, SwimNode, swimConfig } from '@synod/core';
 *
 * const phi = new PhiAccrualDetector({ threshold: 8 });
 * const swim = new SwimNode({ transport, clock, random, clusterId: 'c1', config: swimConfig('lan') });
 * ```
 *
 * The heartbeat window behind phi (HeartbeatHistory), Lifeguard's local
 * health multiplier (Awareness) and suspicion timer (Suspicion), and the
 * event emitter the detectors share stay inside the package: users see
 * their effects through the detectors' options, `stats()` and events.
 *
 * @packageDocumentation
 */
export * from './failure-detector.js';
export * from './detection-errors.js';
export type { EventSource } from './detection-events.js';
export * from './heartbeat-detector.js';
export * from './phi-accrual.js';
export * from './rtt-estimator.js';
export * from './swim-types.js';
export * from './swim-config.js';
export * from './swim-core.js';
export * from './swim-node.js';
export * from './transport-prober.js';
export * from './tcp-probe.js';
export * from './swim-failure-detector.js';
