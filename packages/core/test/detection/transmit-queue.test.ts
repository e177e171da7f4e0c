import { describe, expect, it } from 'vitest';
import { TransmitQueue } from '../../src/detection/transmit-queue.js';

describe('TransmitQueue', () => {
  it('sends the least-sent updates first, newest first among equals', () => {
    const q = new TransmitQueue<string>();
    q.enqueue('a', 'a0', 10);
    q.enqueue('b', 'b0', 10);
    expect(q.take({ budgetBytes: 10, limit: 5 })).toEqual(['b0']);
    q.enqueue('c', 'c0', 10);
    // c and a have 0 transmits (c newer), b has 1.
    expect(q.take({ budgetBytes: 30, limit: 5 })).toEqual(['c0', 'a0', 'b0']);
  });

  it('replaces an older update with the same key and resets its count', () => {
    const q = new TransmitQueue<string>();
    q.enqueue('a', 'old', 10);
    q.take({ budgetBytes: 10, limit: 5 });
    q.enqueue('a', 'new', 10);
    expect(q.size).toBe(1);
    expect(q.transmits('a')).toBe(0);
    expect(q.take({ budgetBytes: 100, limit: 5 })).toEqual(['new']);
  });

  it('drops an update after `limit` transmissions', () => {
    const q = new TransmitQueue<string>();
    q.enqueue('a', 'a', 10);
    for (let i = 0; i < 3; i++) expect(q.take({ budgetBytes: 100, limit: 3 })).toEqual(['a']);
    expect(q.take({ budgetBytes: 100, limit: 3 })).toEqual([]);
    expect(q.size).toBe(0);
  });

  it('drops updates already sent more often than a shrunken limit', () => {
    const q = new TransmitQueue<string>();
    q.enqueue('a', 'a', 10);
    q.take({ budgetBytes: 100, limit: 8 });
    q.take({ budgetBytes: 100, limit: 8 });
    expect(q.take({ budgetBytes: 100, limit: 2 })).toEqual([]);
    expect(q.size).toBe(0);
  });

  it('respects the byte budget', () => {
    const q = new TransmitQueue<string>();
    for (const k of ['a', 'b', 'c', 'd']) q.enqueue(k, k, 40);
    expect(q.take({ budgetBytes: 100, limit: 5 })).toHaveLength(2);
    expect(q.take({ budgetBytes: 39, limit: 5 })).toEqual([]);
  });

  it('deletes and clears', () => {
    const q = new TransmitQueue<string>();
    q.enqueue('a', 'a', 1);
    q.enqueue('b', 'b', 1);
    q.delete('a');
    expect(q.get('a')).toBeUndefined();
    expect(q.take({ budgetBytes: 10, limit: 5 })).toEqual(['b']);
    q.clear();
    expect(q.size).toBe(0);
  });
});
