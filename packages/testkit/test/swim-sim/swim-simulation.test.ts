import { PhiAccrualDetector, swimConfig } from '@synod/core';
import { describe, expect, it } from 'vitest';
import { HeartbeatSimulation, SwimSimulation } from '../../src/swim-sim/index.js';

const JITTER = { kind: 'uniform', minMs: 1, maxMs: 20 } as const;

describe('SwimSimulation', () => {
  it('1,000 members converge, and the load per member per period stays flat from 100 to 1,000 members', () => {
    const load = (members: number): number => {
      const sim = new SwimSimulation({ members, seed: 11 });
      sim.bootstrap(120_000);
      expect(sim.converged()).toBe(true);
      // Let the join news drain from the transmit queues, then measure.
      sim.run(30_000);
      sim.startMeasuring();
      sim.run(10_000);
      return sim.load().messagesPerMemberPerPeriod;
    };
    const small = load(100);
    const large = load(1000);
    expect(small).toBeGreaterThan(1.9); // a ping and an ack per member and period, at least
    expect(large / small).toBeGreaterThan(0.8);
    expect(large / small).toBeLessThan(1.25);
  }, 180_000); // two whole-cluster simulations, 1,000 members for 160 virtual seconds

  it('with 5 % loss and jitter, Lifeguard declares no healthy member dead', () => {
    const sim = new SwimSimulation({ members: 40, seed: 2, faults: { delay: JITTER } });
    sim.bootstrap();
    sim.setFaults({ dropRate: 0.05, delay: JITTER });
    const qos = sim.startMeasuring();
    sim.run(120_000);
    const report = qos.report(sim.clock.now(), sim.ids);
    expect(report.mistakes).toBe(0);
    expect(sim.counts.suspect).toBeGreaterThan(0); // the loss is felt: some probes fail and get refuted
    expect(sim.counts.refuted).toBeGreaterThan(0);
    expect(sim.converged()).toBe(true);
  });

  it('a partition: each side declares the other dead, and everyone is alive again after the heal', () => {
    const sim = new SwimSimulation({ members: 20, seed: 3 });
    sim.bootstrap();
    const left = sim.ids.slice(0, 10);
    const right = sim.ids.slice(10);
    sim.partition([left, right]);
    sim.runUntil(() => left.every((a) => right.every((b) => sim.node(a).member(b)?.state === 'dead')), 60_000, 500);
    sim.runUntil(() => right.every((b) => left.every((a) => sim.node(b).member(a)?.state === 'dead')), 60_000, 500);
    sim.heal();
    // Dead members are still gossiped to for a while, so each side learns
    // what the other said about it, refutes, and the refutations spread.
    const took = sim.runUntil(() => sim.converged(), 60_000, 500);
    expect(took).toBeLessThan(60_000);
  });

  it('a stalled member is suspected while it stalls and refutes once it runs again', () => {
    const sim = new SwimSimulation({ members: 20, seed: 4 });
    sim.bootstrap();
    sim.startMeasuring();
    sim.stall('m5', 4_000);
    sim.runUntil(() => sim.countViews('m5', 'suspect') > 0, 4_000);
    expect(sim.process('m5').stalled).toBe(true);
    sim.runUntil(() => !sim.process('m5').stalled, 4_000);
    sim.runUntil(() => sim.converged(), 10_000);
    expect(sim.node('m5').core.incarnation).toBeGreaterThan(0);
    expect(sim.counts.dead).toBe(0);
  });

  it('a crashed member is declared dead by every other member, and the detection time is recorded', () => {
    const sim = new SwimSimulation({ members: 20, seed: 5, faults: { delay: JITTER } });
    sim.bootstrap();
    const qos = sim.startMeasuring();
    sim.crash('m7');
    sim.runUntil(() => sim.countViews('m7', 'dead') === 19, 60_000, 100);
    const report = qos.report(sim.clock.now(), sim.ids);
    expect(report.detectionTimesMs).toHaveLength(19);
    expect(report.undetected).toBe(0);
    expect(report.mistakes).toBe(0);
    // At least the minimum suspicion timeout, 4 · log10(20) periods.
    expect(report.detectionTimesMs[0]).toBeGreaterThan(5_000);
  });

  it('slow members make plain SWIM suspect healthy members far more often than with Lifeguard', () => {
    const suspicionsOfHealthy = (lifeguard: boolean): number => {
      const sim = new SwimSimulation({ members: 30, seed: 6, config: swimConfig('lan', { lifeguard }) });
      sim.bootstrap();
      const qos = sim.startMeasuring();
      for (const id of ['m1', 'm2']) sim.setInboundLag(id, 2_000);
      sim.run(60_000);
      const report = qos.report(sim.clock.now(), sim.ids);
      return report.suspicionsByClass['anomalous>healthy'] + report.suspicionsByClass['healthy>healthy'];
    };
    const plain = suspicionsOfHealthy(false);
    const lifeguard = suspicionsOfHealthy(true);
    expect(plain).toBeGreaterThan(3 * lifeguard);
  });

  it('replays exactly from its seed', () => {
    const run = (): string => {
      const sim = new SwimSimulation({ members: 30, seed: 9, faults: { dropRate: 0.03, delay: JITTER } });
      sim.bootstrap();
      const qos = sim.startMeasuring();
      sim.stallRandomly({ members: ['m1', 'm2'], meanIntervalMs: 10_000, minMs: 1_000, maxMs: 6_000 });
      sim.slowRandomly({ members: ['m3'], meanIntervalMs: 10_000, minDurationMs: 5_000, maxDurationMs: 10_000, minLagMs: 500, maxLagMs: 3_000 });
      sim.crash('m9');
      sim.run(60_000);
      return JSON.stringify({ counts: sim.counts, report: qos.report(sim.clock.now(), sim.ids), load: sim.load() });
    };
    expect(run()).toEqual(run());
  });
});

describe('HeartbeatSimulation', () => {
  it('phi accrual detects a crash within its expected window and makes no mistakes on a clean network', () => {
    const sim = new HeartbeatSimulation({
      members: 10,
      seed: 1,
      faults: { delay: JITTER },
      detector: () => new PhiAccrualDetector({ threshold: 8, acceptableHeartbeatPauseMs: 3_000 }),
    });
    sim.run(20_000);
    const qos = sim.startMeasuring();
    sim.crash('m4');
    sim.run(30_000);
    const report = qos.report(sim.clock.now(), sim.ids);
    expect(report.mistakes).toBe(0);
    expect(report.undetected).toBe(0);
    expect(report.detectionTimesMs).toHaveLength(9);
    // About the mean interval plus the acceptable pause plus a margin for phi 8.
    for (const td of report.detectionTimesMs) {
      expect(td).toBeGreaterThan(3_000);
      expect(td).toBeLessThan(8_000);
    }
  });

  it('a stalled member wrongly distrusts everyone when it wakes: its check runs before the buffered heartbeats', () => {
    const sim = new HeartbeatSimulation({
      members: 5,
      seed: 2,
      detector: () => new PhiAccrualDetector({ threshold: 8, acceptableHeartbeatPauseMs: 1_000 }),
    });
    sim.run(20_000);
    const qos = sim.startMeasuring();
    sim.stall('m1', 10_000);
    sim.run(20_000);
    const report = qos.report(sim.clock.now(), sim.ids);
    expect(report.mistakesByClass['anomalous>healthy']).toBe(4);
    expect(report.mistakesByClass['healthy>anomalous']).toBe(4);
  });
});
