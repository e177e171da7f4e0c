import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/time/random.js';
import { WindowMap } from '../../src/util/window-map.js';

/** Checks every key in [lo, hi) against a Map that did the same operations. */
function expectSame(window: WindowMap<number>, reference: Map<number, number>, lo: number, hi: number): void {
  expect(window.size).toBe(reference.size);
  for (let key = lo; key < hi; key++) expect(window.get(key)).toBe(reference.get(key));
  expect([...window.values()].sort((a, b) => a - b)).toEqual([...reference.values()].sort((a, b) => a - b));
}

describe('WindowMap', () => {
  it('keeps keys that arrive and leave in order', () => {
    const map = new WindowMap<string>();
    for (let key = 1; key <= 5; key++) map.set(key, `v${key}`);
    expect(map.size).toBe(5);
    expect(map.delete(1)).toBe(true);
    expect(map.delete(1)).toBe(false);
    expect(map.get(1)).toBeUndefined();
    expect(map.get(2)).toBe('v2');
    map.set(3, 'again');
    expect(map.get(3)).toBe('again');
    expect(map.size).toBe(4);
    expect(map.values()).toEqual(['v2', 'again', 'v4', 'v5']);
  });

  it('holds keys below the window, far ahead of it, and ones left behind for good', () => {
    const map = new WindowMap<number>();
    map.set(100, 100);
    map.set(5, 5); // below
    map.set(1_000_000, 1); // far ahead
    for (let key = 101; key < 20_000; key++) {
      map.set(key, key);
      map.delete(key); // 100 stays: the window must not grow with every key since
    }
    expect(map.get(100)).toBe(100);
    expect(map.get(5)).toBe(5);
    expect(map.get(1_000_000)).toBe(1);
    expect(map.size).toBe(3);
    map.clear();
    expect(map.size).toBe(0);
    expect(map.get(100)).toBeUndefined();
  });

  it('answers like a Map under random mostly-in-order use', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = new SeededRandom(seed);
      const window = new WindowMap<number>();
      const reference = new Map<number, number>();
      let next = random.int(1000);
      const live: number[] = [];
      for (let step = 0; step < 5000; step++) {
        const roll = random.next();
        if (roll < 0.45) {
          // the usual: the next key, maybe after a small gap
          next += 1 + (random.next() < 0.1 ? random.int(5) : 0);
          window.set(next, step);
          reference.set(next, step);
          live.push(next);
        } else if (roll < 0.85 && live.length > 0) {
          // mostly the oldest leaves first
          const at = random.next() < 0.8 ? 0 : random.int(live.length);
          const key = live.splice(at, 1)[0]!;
          expect(window.delete(key)).toBe(reference.delete(key));
        } else if (roll < 0.9) {
          // an arbitrary key, possibly below the window or far ahead of it
          const key = next + random.int(4000) - 2000;
          window.set(key, -step);
          reference.set(key, -step);
          if (!live.includes(key)) live.push(key);
        } else if (roll < 0.95) {
          const key = next - random.int(50);
          expect(window.delete(key)).toBe(reference.delete(key));
          const at = live.indexOf(key);
          if (at >= 0) live.splice(at, 1);
        } else {
          const key = next - random.int(100);
          expect(window.get(key)).toBe(reference.get(key));
        }
      }
      expectSame(window, reference, next - 3000, next + 3000);
    }
  });
});
