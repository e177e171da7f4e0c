import { describe, expect, it } from 'vitest';
import { HeartbeatHistory } from '../../src/detection/heartbeat-history.js';
import { PhiAccrualDetector, phiOf } from '../../src/detection/phi-accrual.js';
import type { AvailabilityChange } from '../../src/detection/failure-detector.js';

/** The CDF implied by a phi value, as Pekko's spec checks it. */
const cdf = (phi: number): number => 1 - 10 ** -phi;

/** Feeds heartbeats at cumulative times built from intervals, like Pekko's fake clock. */
function feed(detector: PhiAccrualDetector, intervals: readonly number[], peer = 'p'): number {
  let now = 0;
  for (const [i, interval] of intervals.entries()) {
    now = i === 0 ? interval : now + interval;
    detector.heartbeat(peer, now);
  }
  return now;
}

describe('phiOf (logistic approximation of the normal CDF)', () => {
  it('matches Pekko AccrualFailureDetectorSpec "realistic phi values" within ±0.1', () => {
    const vectors: [number, number][] = [
      [0, 0.0],
      [500, 0.1],
      [1000, 0.3],
      [1200, 1.6],
      [1400, 4.7],
      [1600, 10.8],
      [1700, 15.3],
    ];
    for (const [elapsed, expected] of vectors) {
      expect(Math.abs(phiOf(elapsed, 1000, 100) - expected)).toBeLessThanOrEqual(0.1);
    }
  });

  it('gives a good enough CDF (Pekko vectors, ±0.001)', () => {
    const vectors: [number, number][] = [
      [0, 0.5],
      [6, 0.7257],
      [15, 0.9332],
      [20, 0.97725],
      [25, 0.99379],
      [35, 0.99977],
    ];
    for (const [x, expected] of vectors) expect(Math.abs(cdf(phiOf(x, 0, 10)) - expected)).toBeLessThanOrEqual(0.001);
    expect(Math.abs(cdf(phiOf(40, 0, 10)) - 0.99997)).toBeLessThanOrEqual(0.0001);
    expect(Math.abs(cdf(phiOf(22, 20, 3)) - 0.7475)).toBeLessThanOrEqual(0.001);
  });

  it('increases strictly with elapsed time', () => {
    for (let x = 0; x < 40; x++) expect(phiOf(x, 0, 10)).toBeLessThan(phiOf(x + 1, 0, 10));
    let previous = -1;
    for (let t = 0; t <= 3000; t += 10) {
      const phi = phiOf(t, 1000, 100);
      expect(phi).toBeGreaterThanOrEqual(previous);
      previous = phi;
    }
  });

  it('handles outliers without overflow or negative zero', () => {
    expect(Math.abs(phiOf(10, 0, 1) - 38)).toBeLessThanOrEqual(1);
    expect(phiOf(-25, 0, 1)).toBe(0);
    expect(Number.isFinite(phiOf(1e9, 0, 1))).toBe(true);
  });

  it('gives a lower phi for a larger deviation', () => {
    expect(phiOf(1100, 1000, 500)).toBeLessThan(phiOf(1100, 1000, 100));
  });
});

describe('HeartbeatHistory', () => {
  it('computes the population mean and variance', () => {
    const history = new HeartbeatHistory(20);
    for (const s of [100, 200, 125, 340, 130]) history.add(s);
    expect(history.mean).toBeCloseTo(179, 5);
    expect(history.variance).toBeCloseTo(7584, 5);
  });

  it('has zero variance for one sample', () => {
    const history = new HeartbeatHistory(600);
    history.add(1000);
    expect(history.variance).toBe(0);
  });

  it('is capped by maxSampleSize, evicting the oldest', () => {
    const history = new HeartbeatHistory(3);
    for (const s of [100, 110, 90]) history.add(s);
    expect(history.mean).toBeCloseTo(100, 5);
    expect(history.variance).toBeCloseTo(66.6666667, 5);
    history.add(140);
    expect(history.mean).toBeCloseTo(113.333333, 5);
    expect(history.variance).toBeCloseTo(422.222222, 5);
    history.add(80);
    expect(history.mean).toBeCloseTo(103.333333, 5);
    expect(history.variance).toBeCloseTo(688.88888889, 5);
    expect(history.samples()).toEqual([90, 140, 80]);
  });

  it('rejects a non-positive window', () => {
    expect(() => new HeartbeatHistory(0)).toThrow(/maxSampleSize/);
  });
});

describe('PhiAccrualDetector', () => {
  it('reports phi 0 and available for a peer never heard from', () => {
    const detector = new PhiAccrualDetector();
    expect(detector.phi('p', 12_345)).toBe(0);
    expect(detector.isAvailable('p', 12_345)).toBe(true);
    expect(detector.isMonitoring('p')).toBe(false);
  });

  it('guesses from firstHeartbeatEstimate after one heartbeat', () => {
    const detector = new PhiAccrualDetector({ firstHeartbeatEstimateMs: 1000 });
    detector.heartbeat('p', 0);
    expect(Math.abs(detector.phi('p', 1000) - 0.3)).toBeLessThanOrEqual(0.2);
    expect(Math.abs(detector.phi('p', 2000) - 4.5)).toBeLessThanOrEqual(0.3);
    expect(detector.phi('p', 3000)).toBeGreaterThan(15);
  });

  it('uses the first interval after the second heartbeat', () => {
    const detector = new PhiAccrualDetector();
    detector.heartbeat('p', 0);
    expect(detector.phi('p', 100)).toBeGreaterThan(0);
    detector.heartbeat('p', 200);
    expect(detector.phi('p', 300)).toBeGreaterThan(0);
  });

  it('marks a peer unavailable when heartbeats are missed', () => {
    const detector = new PhiAccrualDetector({ threshold: 3 });
    feed(detector, [0, 1000, 100]); // heartbeats at 0, 1000, 1100
    expect(detector.isAvailable('p', 1200)).toBe(true);
    expect(detector.isAvailable('p', 8200)).toBe(false);
  });

  it('accepts the configured pause and fails after it', () => {
    const tolerant = new PhiAccrualDetector({ acceptableHeartbeatPauseMs: 3000 });
    const last = feed(tolerant, [0, 1000, 1000, 1000, 4000]);
    expect(tolerant.isAvailable('p', last)).toBe(true);
    tolerant.heartbeat('p', last + 1000);
    expect(tolerant.isAvailable('p', last + 2000)).toBe(true);

    const failing = new PhiAccrualDetector({ acceptableHeartbeatPauseMs: 3000 });
    const end = feed(failing, [0, 1000, 1000, 1000, 1000, 1000]);
    expect(failing.isAvailable('p', end + 500)).toBe(true);
    failing.heartbeat('p', end + 1000);
    expect(failing.isAvailable('p', end + 6000)).toBe(false);
  });

  it('shifts phi later by the acceptable pause', () => {
    const plain = new PhiAccrualDetector();
    const paused = new PhiAccrualDetector({ acceptableHeartbeatPauseMs: 500 });
    const last = feed(plain, [0, 1000, 1000, 1000, 1000]);
    feed(paused, [0, 1000, 1000, 1000, 1000]);
    for (const elapsed of [800, 1200, 1500, 2000]) {
      expect(paused.phi('p', last + elapsed)).toBeLessThan(plain.phi('p', last + elapsed));
      expect(paused.phi('p', last + elapsed + 500)).toBeCloseTo(plain.phi('p', last + elapsed), 9);
    }
  });

  it('becomes available again when heartbeats resume, and does not learn from the outage', () => {
    const detector = new PhiAccrualDetector({ acceptableHeartbeatPauseMs: 3000 });
    const changes: AvailabilityChange[] = [];
    detector.onChange((c) => changes.push(c));
    let now = 0;
    detector.heartbeat('p', now);
    for (let i = 0; i < 999; i++) detector.heartbeat('p', (now += 1000));
    const meanBefore = detector.stats('p')!.meanIntervalMs;
    now += 5 * 60 * 1000;
    detector.check(now);
    expect(detector.isAvailable('p', now)).toBe(false);
    detector.heartbeat('p', now);
    expect(detector.isAvailable('p', now)).toBe(true);
    expect(detector.stats('p')!.meanIntervalMs).toBeCloseTo(meanBefore, 9);
    detector.heartbeat('p', (now += 100));
    expect(detector.isAvailable('p', now + 7000)).toBe(false);
    expect(changes.map((c) => c.available)).toEqual([false, true]);
    expect(changes[0]!.phi).toBeGreaterThanOrEqual(8);
  });

  it('uses only maxSampleSize intervals', () => {
    const detector = new PhiAccrualDetector({ maxSampleSize: 3 });
    feed(detector, [0, 100, 100, 100]);
    const phi1 = detector.phi('p', 400);
    for (const t of [1000, 1500, 2000, 2500]) detector.heartbeat('p', t);
    const phi2 = detector.phi('p', 3000);
    expect(phi2).toBeCloseTo(phi1, 3);
  });

  it('emits unavailable and available through on() as check() and heartbeats notice crossings', () => {
    const detector = new PhiAccrualDetector();
    const seen: string[] = [];
    detector.on('unavailable', (c) => seen.push(`down ${c.peer}@${c.atMs}`));
    detector.on('available', (c) => seen.push(`up ${c.peer}@${c.atMs}`));
    feed(detector, [0, 1000, 1000]);
    detector.check(2500);
    detector.check(10_000);
    detector.check(11_000); // no repeat
    detector.heartbeat('p', 12_000);
    expect(seen).toEqual(['down p@10000', 'up p@12000']);
  });

  it('forgets a removed peer', () => {
    const detector = new PhiAccrualDetector();
    detector.heartbeat('p', 0);
    detector.remove('p');
    expect(detector.peers()).toEqual([]);
    expect(detector.phi('p', 100_000)).toBe(0);
  });

  it('rejects invalid options', () => {
    expect(() => new PhiAccrualDetector({ threshold: 0 })).toThrow();
    expect(() => new PhiAccrualDetector({ minStdDeviationMs: 0 })).toThrow();
    expect(() => new PhiAccrualDetector({ maxSampleSize: 0 })).toThrow();
  });
});
