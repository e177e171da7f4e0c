import { describe, expect, it } from 'vitest';
import { Awareness } from '../../src/detection/awareness.js';
import { Suspicion } from '../../src/detection/suspicion.js';

describe('Suspicion (Lifeguard dynamic suspicion timeout)', () => {
  const base = { from: 'a', minMs: 1000, maxMs: 6000, startMs: 100 };

  it('starts at max and reaches min after k independent confirmations', () => {
    const s = new Suspicion({ ...base, expectedConfirmations: 3 });
    const timeouts = [s.timeoutMs];
    for (const from of ['b', 'c', 'd']) {
      expect(s.confirm(from)).toBe(true);
      timeouts.push(s.timeoutMs);
    }
    expect(timeouts[0]).toBe(6000);
    expect(timeouts[3]).toBe(1000);
    // Logarithmic: each confirmation shrinks the timeout by less than the one before.
    const drops = timeouts.slice(1).map((t, i) => timeouts[i]! - t);
    expect(drops[0]).toBeGreaterThan(drops[1]!);
    expect(drops[1]).toBeGreaterThan(drops[2]!);
    expect(s.deadlineMs).toBe(1100);
  });

  it('matches max − (max − min)·log(c+1)/log(k+1)', () => {
    const s = new Suspicion({ ...base, expectedConfirmations: 3 });
    s.confirm('b');
    expect(s.timeoutMs).toBe(Math.floor(6000 - 5000 * (Math.log(2) / Math.log(4))));
  });

  it('ignores the accuser, repeats and confirmations beyond k', () => {
    const s = new Suspicion({ ...base, expectedConfirmations: 1 });
    expect(s.confirm('a')).toBe(false);
    expect(s.confirm('b')).toBe(true);
    expect(s.confirm('b')).toBe(false);
    expect(s.confirm('c')).toBe(false);
    expect(s.confirmations).toBe(1);
  });

  it('uses min at once when no confirmations are expected', () => {
    expect(new Suspicion({ ...base, expectedConfirmations: 0 }).timeoutMs).toBe(1000);
  });
});

describe('Awareness (Lifeguard local health)', () => {
  it('clamps to [0, max − 1] and scales timeouts by score + 1', () => {
    const a = new Awareness(8);
    expect(a.applyDelta(-3)).toBe(0);
    expect(a.applyDelta(5)).toBe(5);
    expect(a.applyDelta(10)).toBe(7);
    expect(a.scale(500)).toBe(4000);
    expect(a.applyDelta(-1)).toBe(6);
  });

  it('max 1 disables it', () => {
    const a = new Awareness(1);
    a.applyDelta(3);
    expect(a.scale(500)).toBe(500);
    expect(() => new Awareness(0)).toThrow();
  });
});
