import { describe, expect, it } from 'vitest';
import { QosRecorder } from '../../src/swim-sim/index.js';

const members = ['a', 'b', 'c'];

describe('QosRecorder', () => {
  it('counts a wrong verdict about a correct member as a mistake and its duration against query accuracy', () => {
    const qos = new QosRecorder(0);
    qos.down('a', 'b', 1_000);
    qos.up('a', 'b', 2_000);
    const report = qos.report(10_000, members);
    expect(report.mistakes).toBe(1);
    expect(report.mistakesByClass['healthy>healthy']).toBe(1);
    expect(report.pairs).toBe(6);
    // 1 s down out of 6 pairs × 10 s.
    expect(report.queryAccuracy).toBeCloseTo(1 - 1_000 / 60_000, 10);
    expect(report.mistakesPerPairHour).toBeCloseTo(1 / 6 / (10 / 3600), 6);
    expect(report.membersWronglyDown).toBe(1);
  });

  it('measures detection time from the crash to the last verdict that stuck, and counts observers that never decided', () => {
    const qos = new QosRecorder(0);
    qos.crashed('c', 1_000);
    qos.down('a', 'c', 2_000);
    qos.up('a', 'c', 2_500); // taken back: not yet detected for good
    qos.down('a', 'c', 4_000);
    const report = qos.report(10_000, members);
    expect(report.detectionTimesMs).toEqual([3_000]);
    expect(report.firstDetectionMs).toEqual([3_000]);
    expect(report.undetected).toBe(1); // b never decided
    expect(report.mistakes).toBe(0);
    expect(report.pairs).toBe(2);
  });

  it('splits mistakes and suspicions by healthy and anomalous members, and P_A of healthy pairs ignores anomalous ones', () => {
    const qos = new QosRecorder(0);
    qos.anomalous('c');
    qos.down('a', 'c', 0);
    qos.suspected('c', 'a', 100);
    const report = qos.report(1_000, members);
    expect(report.mistakesByClass['healthy>anomalous']).toBe(1);
    expect(report.suspicionsByClass['anomalous>healthy']).toBe(1);
    expect(report.queryAccuracyHealthy).toBe(1);
    expect(report.queryAccuracy).toBeLessThan(1);
  });

  it('ignores what happened before the window, except for its duration inside it', () => {
    const qos = new QosRecorder(5_000);
    qos.down('a', 'b', 1_000);
    qos.up('a', 'b', 6_000);
    const report = qos.report(10_000, ['a', 'b']);
    expect(report.mistakes).toBe(0);
    expect(report.queryAccuracy).toBeCloseTo(1 - 1_000 / (2 * 5_000), 10);
  });
});
