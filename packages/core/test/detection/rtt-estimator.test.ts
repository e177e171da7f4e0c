import { describe, expect, it } from 'vitest';
import { RttEstimator } from '../../src/detection/rtt-estimator.js';

describe('RttEstimator (RFC 6298)', () => {
  it('starts at the initial RTO (§2.1)', () => {
    const rtt = new RttEstimator({ initialRtoMs: 1000 });
    expect(rtt.rtoMs).toBe(1000);
    expect(rtt.srttMs).toBeUndefined();
  });

  it('sets SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, K·RTTVAR) on the first sample (§2.2)', () => {
    const rtt = new RttEstimator({ minRtoMs: 1 });
    expect(rtt.sample(100)).toBe(true);
    expect(rtt.srttMs).toBe(100);
    expect(rtt.rttvarMs).toBe(50);
    expect(rtt.rtoMs).toBe(300);
  });

  it('updates RTTVAR with the old SRTT, then SRTT, on later samples (§2.3)', () => {
    const rtt = new RttEstimator({ minRtoMs: 1 });
    rtt.sample(100);
    rtt.sample(200);
    // RTTVAR = 3/4·50 + 1/4·|100 − 200| = 62.5; SRTT = 7/8·100 + 1/8·200 = 112.5
    expect(rtt.rttvarMs).toBeCloseTo(62.5, 9);
    expect(rtt.srttMs).toBeCloseTo(112.5, 9);
    expect(rtt.rtoMs).toBeCloseTo(112.5 + 4 * 62.5, 9);
  });

  it('uses the clock granularity when the variance is tiny', () => {
    const rtt = new RttEstimator({ minRtoMs: 1, granularityMs: 10 });
    rtt.sample(50);
    for (let i = 0; i < 200; i++) rtt.sample(50);
    expect(rtt.rttvarMs!).toBeLessThan(1);
    expect(rtt.rtoMs).toBeCloseTo(60, 6);
  });

  it('clamps the RTO between min and max (§2.4, §2.5)', () => {
    const low = new RttEstimator({ minRtoMs: 200, maxRtoMs: 5000 });
    low.sample(1);
    expect(low.rtoMs).toBe(200);
    const high = new RttEstimator({ minRtoMs: 200, maxRtoMs: 5000 });
    high.sample(10_000);
    expect(high.rtoMs).toBe(5000);
  });

  it('doubles the RTO on each timeout up to the max, and a fresh sample resets the backoff (§5.5, §5.7)', () => {
    const rtt = new RttEstimator({ minRtoMs: 1, maxRtoMs: 2000 });
    rtt.sample(100); // RTO 300
    rtt.backoff();
    expect(rtt.rtoMs).toBe(600);
    rtt.backoff();
    expect(rtt.rtoMs).toBe(1200);
    rtt.backoff();
    rtt.backoff();
    expect(rtt.rtoMs).toBe(2000);
    expect(rtt.backoffs).toBe(3);
    rtt.sample(100);
    expect(rtt.backoffs).toBe(0);
    expect(rtt.rtoMs).toBeLessThan(600);
  });

  it("ignores samples from retransmitted requests (Karn's rule, §3)", () => {
    const rtt = new RttEstimator({ minRtoMs: 1 });
    rtt.sample(100);
    rtt.backoff();
    expect(rtt.sample(5000, { retransmitted: true })).toBe(false);
    expect(rtt.srttMs).toBe(100);
    expect(rtt.samples).toBe(1);
    // The backoff stays until an unambiguous sample arrives.
    expect(rtt.rtoMs).toBe(600);
  });

  it('ignores nonsense samples and rejects bad options', () => {
    const rtt = new RttEstimator();
    expect(rtt.sample(-1)).toBe(false);
    expect(rtt.sample(Number.NaN)).toBe(false);
    expect(() => new RttEstimator({ minRtoMs: 100, maxRtoMs: 50 })).toThrow();
  });
});
