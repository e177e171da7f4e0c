import { HistoryRecorder, type KvInput, type KvOutput } from '@synod/testkit';
import { describe, expect, it } from 'vitest';
import { findLostWrites } from '../src/checks.js';

function recorder(): { r: HistoryRecorder<KvInput, KvOutput> } {
  const now = 0;
  const r = new HistoryRecorder<KvInput, KvOutput>({ clock: () => now });
  return { r };
}

describe('findLostWrites', () => {
  it('finds nothing when the final value comes from the last acknowledged write', () => {
    const { r } = recorder();
    r.ok(r.invoke('a', { f: 'put', key: 'k', value: '1' }), { f: 'put' });
    r.ok(r.invoke('a', { f: 'put', key: 'k', value: '2' }), { f: 'put' });
    expect(findLostWrites(r.history(), new Map([['k', '2']]))).toEqual([]);
  });

  it('names an acknowledged put that the final read does not reflect', () => {
    const { r } = recorder();
    r.ok(r.invoke('a', { f: 'put', key: 'k', value: '1' }), { f: 'put' });
    r.ok(r.invoke('a', { f: 'put', key: 'k', value: '2' }), { f: 'put' });
    const lost = findLostWrites(r.history(), new Map([['k', '1']]));
    expect(lost).toHaveLength(1);
    expect(lost[0]!.write).toBe('put k=2');
  });

  it('accepts an older value when its write overlapped the newer one, or had an unknown outcome', () => {
    const { r } = recorder();
    const one = r.invoke('a', { f: 'put', key: 'k', value: '1' });
    const two = r.invoke('b', { f: 'put', key: 'k', value: '2' });
    r.ok(two, { f: 'put' });
    r.ok(one, { f: 'put' });
    expect(findLostWrites(r.history(), new Map([['k', '1']]))).toEqual([]);

    const { r: r2 } = recorder();
    r2.ok(r2.invoke('a', { f: 'put', key: 'k', value: '2' }), { f: 'put' });
    r2.info(r2.invoke('b', { f: 'put', key: 'k', value: '3' }), 'timeout');
    expect(findLostWrites(r2.history(), new Map([['k', '3']]))).toEqual([]);
  });

  it('treats a delete as a write of "absent", and flags a key absent as if its writes never happened', () => {
    const { r } = recorder();
    r.ok(r.invoke('a', { f: 'put', key: 'k', value: '1' }), { f: 'put' });
    r.ok(r.invoke('a', { f: 'delete', key: 'k' }), { f: 'delete', existed: true });
    expect(findLostWrites(r.history(), new Map([['k', null]]))).toEqual([]);
    expect(findLostWrites(r.history(), new Map([['k', '1']])).map((l) => l.write)).toEqual(['delete k']);

    const { r: r2 } = recorder();
    r2.ok(r2.invoke('a', { f: 'put', key: 'j', value: '9' }), { f: 'put' });
    expect(findLostWrites(r2.history(), new Map([['j', null]])).map((l) => l.write)).toEqual(['put j=9']);
  });

  it('ignores a compare-and-swap that did not swap, and flags a final value nobody wrote', () => {
    const { r } = recorder();
    r.ok(r.invoke('a', { f: 'put', key: 'k', value: '1' }), { f: 'put' });
    r.ok(r.invoke('a', { f: 'cas', key: 'k', expected: '0', value: '2' }), { f: 'cas', swapped: false });
    expect(findLostWrites(r.history(), new Map([['k', '1']]))).toEqual([]);
    expect(findLostWrites(r.history(), new Map([['k', 'ghost']]))[0]!.reason).toMatch(/no write of k ever had the value ghost/);
  });

  it('lets a write whose outcome was unknown land after a later acknowledged one', () => {
    const { r } = recorder();
    // The put of 1 timed out, but its session applied it after the put of 2.
    r.info(r.invoke('a', { f: 'put', key: 'k', value: '1' }), 'timeout');
    r.ok(r.invoke('b', { f: 'put', key: 'k', value: '2' }), { f: 'put' });
    expect(findLostWrites(r.history(), new Map([['k', '1']]))).toEqual([]);
  });
});
