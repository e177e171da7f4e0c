import { describe, expect, it } from 'vitest';
import { FAULT_KINDS, planSchedule } from '../src/nemesis.js';

describe('planSchedule', () => {
  it('gives the same schedule for the same seed, and another for another seed', () => {
    const a = planSchedule({ seed: 42, durationMs: 180_000 });
    expect(planSchedule({ seed: 42, durationMs: 180_000 })).toEqual(a);
    expect(planSchedule({ seed: 43, durationMs: 180_000 })).not.toEqual(a);
  });

  it('runs faults one after another, with quiet time between, all starting within the duration', () => {
    const schedule = planSchedule({ seed: 7, durationMs: 120_000, quietMs: [1_000, 2_000] });
    expect(schedule.length).toBeGreaterThan(5);
    for (const [i, fault] of schedule.entries()) {
      expect(fault.atMs).toBeLessThan(120_000);
      const next = schedule[i + 1];
      if (next !== undefined) expect(next.atMs - (fault.atMs + fault.durationMs)).toBeGreaterThanOrEqual(1_000);
    }
  });

  it('keeps short pauses under the election timeout (1 s) and long ones well past it', () => {
    const schedule = planSchedule({ seed: 3, durationMs: 3_600_000, kinds: ['pause-short', 'pause-long'] });
    const short = schedule.filter((f) => f.kind === 'pause-short');
    const long = schedule.filter((f) => f.kind === 'pause-long');
    expect(short.length).toBeGreaterThan(10);
    expect(long.length).toBeGreaterThan(10);
    expect(Math.max(...short.map((f) => f.durationMs))).toBeLessThan(1_000);
    expect(Math.min(...long.map((f) => f.durationMs))).toBeGreaterThanOrEqual(2_000);
  });

  it('draws only the kinds it is given, and over a long run every kind it is given', () => {
    expect(new Set(planSchedule({ seed: 1, durationMs: 600_000, kinds: ['kill', 'loss'] }).map((f) => f.kind))).toEqual(new Set(['kill', 'loss']));
    expect(new Set(planSchedule({ seed: 1, durationMs: 3_600_000 }).map((f) => f.kind))).toEqual(new Set(FAULT_KINDS));
    expect(planSchedule({ seed: 1, durationMs: 60_000, kinds: [] })).toEqual([]);
  });
});
