import { describe, expect, it } from 'vitest';
import {
  HistoryRecorder,
  InvalidHistoryError,
  kvCodec,
  operationsFromHistory,
  parseHistoryJsonl,
  type KvInput,
  type KvOutput,
} from '../../src/history/index.js';

function fakeClock(start = 0): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('HistoryRecorder', () => {
  it('records invoke and completion with the injected clock and the client id', () => {
    const clock = fakeClock(100);
    const r = new HistoryRecorder<KvInput, KvOutput>({ clock: clock.now });
    const op = r.invoke('c1', { f: 'put', key: 'a', value: '1' });
    clock.advance(5);
    r.ok(op, { f: 'put' });
    expect(r.history()).toEqual([
      { type: 'invoke', id: op, client: 'c1', time: 100, input: { f: 'put', key: 'a', value: '1' } },
      { type: 'ok', id: op, client: 'c1', time: 105, output: { f: 'put' } },
    ]);
  });

  it('keeps an operation with unknown outcome open until the end, never dropping it', () => {
    const clock = fakeClock();
    const r = new HistoryRecorder<KvInput, KvOutput>({ clock: clock.now });
    const lost = r.invoke(1, { f: 'put', key: 'a', value: '1' });
    const timedOut = r.invoke(2, { f: 'put', key: 'a', value: '2' });
    clock.advance(1);
    r.info(timedOut, 'timeout');
    const failed = r.invoke(3, { f: 'delete', key: 'a' });
    r.fail(failed, 'not leader');
    expect(r.openOperations()).toEqual([lost]);
    const ops = operationsFromHistory(r.history());
    expect(ops.map((o) => [o.id, o.status, o.error])).toEqual([
      [lost, 'open', undefined],
      [timedOut, 'info', 'timeout'],
      [failed, 'fail', 'not leader'],
    ]);
    expect(ops[0]?.completeTime).toBeUndefined();
  });

  it('rejects a second completion and a completion of an unknown operation', () => {
    const r = new HistoryRecorder<KvInput, KvOutput>({ clock: () => 0 });
    const op = r.invoke('c', { f: 'get', key: 'a' });
    r.ok(op, { f: 'get', value: null });
    expect(() => r.ok(op, { f: 'get', value: null })).toThrow(InvalidHistoryError);
    expect(() => r.info(op)).toThrow(/already complete/);
    expect(() => r.fail(42)).toThrow(/never invoked/);
  });

  it('rejects a clock that goes backwards', () => {
    let t = 10;
    const r = new HistoryRecorder<KvInput, KvOutput>({ clock: () => t });
    r.invoke('c', { f: 'get', key: 'a' });
    t = 9;
    expect(() => r.invoke('d', { f: 'get', key: 'b' })).toThrow(/clock went backwards/);
  });

  it('record() wraps a promise: ok on resolve, info by default on reject', async () => {
    const r = new HistoryRecorder<KvInput, KvOutput>({ clock: () => 0 });
    await expect(r.record('c', { f: 'get', key: 'a' }, async () => ({ f: 'get', value: 'x' }))).resolves.toEqual({
      f: 'get',
      value: 'x',
    });
    await expect(
      r.record('c', { f: 'put', key: 'a', value: '1' }, async () => {
        throw new Error('connection lost');
      }),
    ).rejects.toThrow('connection lost');
    await expect(
      r.record(
        'c',
        { f: 'put', key: 'a', value: '2' },
        async () => {
          throw new Error('rejected');
        },
        () => 'fail',
      ),
    ).rejects.toThrow('rejected');
    const ops = operationsFromHistory(r.history());
    expect(ops.map((o) => o.status)).toEqual(['ok', 'info', 'fail']);
    expect(ops[1]?.error).toBe('connection lost');
  });

  it('uses the classifier from the options', async () => {
    const r = new HistoryRecorder<KvInput, KvOutput>({ clock: () => 0, classifyError: () => 'fail' });
    await expect(r.record('c', { f: 'delete', key: 'a' }, () => Promise.reject(new Error('no')))).rejects.toThrow();
    expect(r.history()[1]?.type).toBe('fail');
  });

  it('serializes to JSON lines that parse back to the same history', () => {
    const clock = fakeClock();
    const r = new HistoryRecorder<KvInput, KvOutput>({ clock: clock.now });
    const a = r.invoke('c1', { f: 'cas', key: 'k', expected: null, value: 'v' });
    clock.advance(2);
    r.invoke('c2', { f: 'get', key: 'k' });
    r.ok(a, { f: 'cas', swapped: true });
    const parsed = parseHistoryJsonl(r.toJsonl(kvCodec, 'kv'), kvCodec);
    expect(parsed.model).toBe('kv');
    expect(parsed.history).toEqual(r.history());
  });
});

describe('operationsFromHistory', () => {
  it('rejects timestamps that go against the event order', () => {
    expect(() =>
      operationsFromHistory([
        { type: 'invoke', id: 0, client: 'a', time: 5, input: null },
        { type: 'ok', id: 0, client: 'a', time: 4, output: null },
      ]),
    ).toThrow(InvalidHistoryError);
  });

  it('rejects a completion from another client', () => {
    expect(() =>
      operationsFromHistory([
        { type: 'invoke', id: 0, client: 'a', time: 0, input: null },
        { type: 'ok', id: 0, client: 'b', time: 1, output: null },
      ]),
    ).toThrow(/invoked by client a but completed by b/);
  });

  it('rejects a history with a hole instead of skipping or crashing on it', () => {
    const history = [{ type: 'invoke' as const, id: 0, client: 'a', time: 0, input: null }];
    history.length = 3;
    expect(() => operationsFromHistory(history)).toThrow(/event 1: missing/);
  });
});
