import { describe, expect, it } from 'vitest';
import { Inflights } from '../../src/raft/inflights.js';

describe('Inflights', () => {
  it('is full once the message count reaches the limit, and acknowledgements free slots in order', () => {
    const w = new Inflights(3);
    w.add(1, 10);
    w.add(2, 10);
    expect(w.full()).toBe(false);
    w.add(5, 10);
    expect(w.full()).toBe(true);
    w.freeLE(2);
    expect(w.count).toBe(1);
    expect(w.bytes).toBe(10);
    expect(w.full()).toBe(false);
    // Wraps around the ring.
    w.add(6, 1);
    w.add(7, 1);
    expect(w.full()).toBe(true);
    w.freeLE(100);
    expect(w.count).toBe(0);
    expect(w.bytes).toBe(0);
  });

  it('is full once the byte budget is reached, but an empty window always admits one message', () => {
    const w = new Inflights(100, 25);
    w.add(1, 10);
    w.add(2, 10);
    expect(w.full()).toBe(false);
    w.add(3, 10);
    expect(w.full()).toBe(true);
    w.freeLE(3);
    expect(w.full()).toBe(false);
    w.add(4, 1000);
    expect(w.full()).toBe(true);
  });

  it('a stale acknowledgement frees nothing; reset empties the window', () => {
    const w = new Inflights(4);
    w.add(10, 1);
    w.add(20, 1);
    w.freeLE(9);
    expect(w.count).toBe(2);
    w.reset();
    expect(w.count).toBe(0);
    expect(() => {
      for (let i = 0; i < 5; i++) w.add(i, 0);
    }).toThrow(/overflow/);
  });
});
