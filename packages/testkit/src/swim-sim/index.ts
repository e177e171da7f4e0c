/**
 * SWIM cluster simulation on the in-memory transport and virtual time, with
 * loss, jitter, partitions, crashes, stalled and slow members, and the
 * failure-detector quality-of-service metrics to judge it by.
 *
 * @example
 * ```ts
 * import { SwimSimulation } from '@synod/testkit';
 *
 * const sim = new SwimSimulation({ members: 100, seed: 3, faults: { dropRate: 0.05 } });
 * sim.bootstrap();
 * const qos = sim.startMeasuring();
 * sim.stall('m4', 5_000);
 * sim.run(60_000);
 * console.log(qos.report(sim.clock.now(), sim.ids).mistakes);
 * ```
 *
 * @packageDocumentation
 */
export * from './sim-process.js';
export * from './detection-metrics.js';
export * from './swim-simulation.js';
export * from './fault-scripts.js';
export * from './heartbeat-simulation.js';
