import { describe, expect, it } from 'vitest';
import { HistoryRecorder, type RegisterInput, type RegisterOutput } from '../../src/history/index.js';
import {
  Bitset,
  LinearizationCache,
  UNKNOWN_OUTPUT,
  checkLinearizability,
  counterModel,
  createKvModel,
  hashString,
  kvModel,
  registerModel,
  type CounterInput,
  type CounterOutput,
} from '../../src/linearizability/index.js';

function clock(): () => number {
  let t = 0;
  return () => t++;
}

describe('counterModel (an example model beyond registers)', () => {
  it('accepts reads that match some order of concurrent adds', () => {
    const r = new HistoryRecorder<CounterInput, CounterOutput>({ clock: clock() });
    const a = r.invoke('a', { f: 'add', delta: 1 });
    const b = r.invoke('b', { f: 'add', delta: 10 });
    const read = r.invoke('c', { f: 'read' });
    r.ok(read, { f: 'read', value: 10 }); // b happened, a not yet
    r.ok(a, { f: 'add' });
    r.ok(b, { f: 'add' });
    const final = r.invoke('c', { f: 'read' });
    r.ok(final, { f: 'read', value: 11 });
    expect(checkLinearizability(counterModel, r.history()).verdict).toBe('linearizable');
  });

  it('rejects a read no order can produce, and an add counted twice', () => {
    const r = new HistoryRecorder<CounterInput, CounterOutput>({ clock: clock() });
    r.ok(r.invoke('a', { f: 'add', delta: 1 }), { f: 'add' });
    r.ok(r.invoke('b', { f: 'add', delta: 2 }), { f: 'add' });
    r.ok(r.invoke('c', { f: 'read' }), { f: 'read', value: 4 });
    const result = checkLinearizability(counterModel, r.history());
    expect(result.verdict).toBe('not-linearizable');
    expect(result.partitions[0]?.failure?.stateAfterPrefix).toBe('3');
  });

  it('lets an info add explain a later read', () => {
    const r = new HistoryRecorder<CounterInput, CounterOutput>({ clock: clock() });
    r.info(r.invoke('a', { f: 'add', delta: 5 }), 'timeout');
    r.ok(r.invoke('b', { f: 'read' }), { f: 'read', value: 0 });
    r.ok(r.invoke('b', { f: 'read' }), { f: 'read', value: 5 });
    expect(checkLinearizability(counterModel, r.history()).verdict).toBe('linearizable');
  });
});

describe('registerModel', () => {
  it('steps reads, writes and cas from nil', () => {
    const s0 = registerModel.init();
    expect(s0).toBeNull();
    expect(registerModel.step(s0, { f: 'read' }, { f: 'read', value: null })).toEqual({ ok: true, newState: null });
    expect(registerModel.step(s0, { f: 'cas', expected: null, value: 1 }, { f: 'cas', swapped: true })).toEqual({
      ok: true,
      newState: 1,
    });
    expect(registerModel.step(1, { f: 'cas', expected: 2, value: 3 }, { f: 'cas', swapped: true })).toEqual({ ok: false });
    expect(registerModel.step(1, { f: 'cas', expected: 1, value: 3 }, UNKNOWN_OUTPUT)).toEqual({ ok: true, newState: 3 });
    expect(registerModel.step(1, { f: 'read' }, { f: 'write' })).toEqual({ ok: false });
    expect(registerModel.hash(1)).not.toBe(registerModel.hash('1'));
  });

  it('describes operations for reports', () => {
    const d = (i: RegisterInput, o: RegisterOutput | typeof UNKNOWN_OUTPUT): string => registerModel.describeOperation(i, o);
    expect(d({ f: 'read' }, { f: 'read', value: 3 })).toBe('read -> 3');
    expect(d({ f: 'write', value: 4 }, UNKNOWN_OUTPUT)).toBe('write 4 -> ?');
    expect(d({ f: 'cas', expected: 1, value: 2 }, { f: 'cas', swapped: true })).toBe('cas 1->2');
  });
});

describe('kv models', () => {
  it('partitions by key', () => {
    const r = new HistoryRecorder({ clock: clock() });
    r.invoke(1, { f: 'get' as const, key: 'x' });
    r.invoke(2, { f: 'get' as const, key: 'y' });
    r.invoke(3, { f: 'get' as const, key: 'x' });
    const result = checkLinearizability(kvModel, r.history());
    expect(result.partitions.map((p) => [p.key, p.operations.map((o) => o.id)])).toEqual([
      ['x', [0, 2]],
      ['y', [1]],
    ]);
  });

  it('can read absent keys as the empty string (Porcupine) and appends to them', () => {
    const model = createKvModel({ absentReadsAs: '' });
    expect(model.step(null, { f: 'get', key: 'k' }, { f: 'get', value: '' })).toEqual({ ok: true, newState: null });
    expect(model.step(null, { f: 'get', key: 'k' }, { f: 'get', value: null })).toEqual({ ok: true, newState: null });
    expect(model.step('x', { f: 'get', key: 'k' }, { f: 'get', value: null })).toEqual({ ok: false });
    expect(kvModel.step(null, { f: 'get', key: 'k' }, { f: 'get', value: '' })).toEqual({ ok: false });
    expect(model.step(null, { f: 'append', key: 'k', value: 'x' }, { f: 'append' })).toEqual({ ok: true, newState: 'x' });
    expect(kvModel.describeOperation({ f: 'cas', key: 'k', expected: null, value: 'v' }, { f: 'cas', swapped: false })).toBe(
      'cas k nil->"v" -> not swapped',
    );
  });
});

describe('Bitset and LinearizationCache', () => {
  it('keeps the Zobrist hash in step with the members', () => {
    const a = new Bitset(100);
    const b = new Bitset(100);
    a.set(3);
    a.set(70);
    b.set(70);
    b.set(3);
    b.set(5);
    b.clear(5);
    expect(a.hash).toBe(b.hash);
    expect(a.equalsWords(b.words)).toBe(true);
    expect(a.count()).toBe(2);
    a.clear(3);
    expect(a.has(3)).toBe(false);
    expect(a.hash).not.toBe(b.hash);
  });

  it('remembers configurations exactly, even when hashes collide', () => {
    const cache = new LinearizationCache<string>(1, (x, y) => x === y);
    const bits = new Bitset(10);
    bits.set(1);
    expect(cache.add(bits, 'a', 0)).toBe(true);
    expect(cache.add(bits, 'a', 0)).toBe(false);
    // Same (forced) state hash, different state: still a new configuration.
    expect(cache.add(bits, 'b', 0)).toBe(true);
    bits.set(2);
    expect(cache.add(bits, 'a', 0)).toBe(true);
    for (let i = 0; i < 5000; i++) expect(cache.add(bits, `s${i}`, hashString(`s${i}`))).toBe(true);
    expect(cache.add(bits, 's42', hashString('s42'))).toBe(false);
    expect(cache.size).toBe(5003);
  });
});
