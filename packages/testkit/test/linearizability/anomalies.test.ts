import { describe, expect, it } from 'vitest';
import type { HistoryEvent, KvInput, KvOutput } from '../../src/history/index.js';
import { checkLinearizability, kvModel } from '../../src/linearizability/index.js';

type Ev = HistoryEvent<KvInput, KvOutput>;

/**
 * A tiny DSL for hand-written histories: each string is one event, in real
 * time order. `+3 put a 1` invokes op 3 (`+3 cas a OLD NEW`); `-3 ok`
 * completes it; `-3 get 1` completes a get with value 1 (`nil` for absent);
 * `-3 cas yes|no`, `-3 delete existed|absent`, `-3 info`, `-3 fail`.
 */
function h(...lines: string[]): Ev[] {
  const inputs = new Map<number, KvInput>();
  return lines.map((line, time): Ev => {
    const [head = '', ...rest] = line.split(' ');
    const id = Number(head.slice(1));
    const client = `c${id}`;
    const val = (s: string | undefined): string | null => (s === 'nil' || s === undefined ? null : s);
    if (head.startsWith('+')) {
      const [f, key = 'a', x, y] = rest;
      const input: KvInput =
        f === 'get' || f === 'delete'
          ? { f, key }
          : f === 'cas'
            ? { f, key, expected: val(x), value: y ?? '' }
            : { f: f as 'put' | 'append', key, value: x ?? '' };
      inputs.set(id, input);
      return { type: 'invoke', id, client, time, input };
    }
    const input = inputs.get(id) as KvInput;
    const [what] = rest[0] === input.f ? rest.slice(1) : rest;
    if (what === 'info' || what === 'fail') return { type: what, id, client, time };
    const output: KvOutput =
      input.f === 'get'
        ? { f: 'get', value: val(what) }
        : input.f === 'cas'
          ? { f: 'cas', swapped: what === 'yes' }
          : input.f === 'delete'
            ? what === 'existed' || what === 'absent'
              ? { f: 'delete', existed: what === 'existed' }
              : { f: 'delete' }
            : { f: input.f };
    return { type: 'ok', id, client, time, output };
  });
}

const verdict = (events: Ev[]): string => checkLinearizability(kvModel, events).verdict;

describe('the checker catches injected anomalies', () => {
  it('a stale read (a value already overwritten, read after the overwrite completed)', () => {
    const events = h('+1 put a 1', '-1 ok', '+2 put a 2', '-2 ok', '+3 get a', '-3 get 1');
    const result = checkLinearizability(kvModel, events);
    expect(result.verdict).toBe('not-linearizable');
    const p = result.partitions[0];
    expect(p?.longestPrefix).toEqual([1, 2]);
    expect(p?.failure?.opId).toBe(3);
    expect(p?.failure?.candidates).toEqual([{ opId: 3, reason: 'rejected' }]);
    expect(p?.failure?.stateAfterPrefix).toBe('"2"');
  });

  it('a lost acknowledged write', () => {
    expect(verdict(h('+1 put a 1', '-1 ok', '+2 get a', '-2 get nil'))).toBe('not-linearizable');
    // Also when reads run concurrently with the write, as long as one starts after it was acknowledged.
    expect(verdict(h('+1 put a 1', '+2 get a', '-1 ok', '-2 get 1', '+3 get a', '-3 get nil'))).toBe('not-linearizable');
  });

  it('a duplicated apply (an old write applied again later)', () => {
    expect(
      verdict(h('+1 put a 1', '-1 ok', '+2 put a 2', '-2 ok', '+3 get a', '-3 get 2', '+4 get a', '-4 get 1')),
    ).toBe('not-linearizable');
    expect(verdict(h('+1 append a x', '-1 ok', '+2 get a', '-2 get xx'))).toBe('not-linearizable');
  });

  it('a read of a value never written', () => {
    expect(verdict(h('+1 put a 1', '+2 get a', '-1 ok', '-2 get 7'))).toBe('not-linearizable');
  });

  it('a CAS that succeeds twice on the same expected value', () => {
    expect(
      verdict(h('+1 put a 0', '-1 ok', '+2 cas a 0 1', '+3 cas a 0 2', '-2 cas yes', '-3 cas yes')),
    ).toBe('not-linearizable');
  });

  it('an operation that failed (definitely did not happen) but was observed', () => {
    expect(verdict(h('+1 put a 1', '-1 fail', '+2 get a', '-2 get 1'))).toBe('not-linearizable');
  });

  it('a delete that reports the wrong prior existence', () => {
    expect(verdict(h('+1 delete a', '-1 delete existed'))).toBe('not-linearizable');
  });
});

describe('the checker accepts valid concurrent histories', () => {
  it('a read concurrent with a write may see either value', () => {
    expect(verdict(h('+1 put a 1', '-1 ok', '+2 put a 2', '+3 get a', '-3 get 1', '-2 ok'))).toBe('linearizable');
    expect(verdict(h('+1 put a 1', '-1 ok', '+2 put a 2', '+3 get a', '-3 get 2', '-2 ok'))).toBe('linearizable');
  });

  it('reads see concurrent writes in one order only once it is fixed', () => {
    // Both writes overlap the reads, so any order of the two is fine...
    expect(verdict(h('+1 put a 1', '+2 put a 2', '+3 get a', '-3 get 2', '+4 get a', '-4 get 1', '-1 ok', '-2 ok'))).toBe(
      'linearizable',
    );
    // ...but two sequential readers cannot see 1, 2, 1.
    expect(
      verdict(h('+1 put a 1', '+2 put a 2', '+3 get a', '-3 get 1', '+4 get a', '-4 get 2', '+5 get a', '-5 get 1', '-1 ok', '-2 ok')),
    ).toBe('not-linearizable');
  });

  it('an info (unknown outcome) write may take effect long after it was given up on', () => {
    expect(verdict(h('+1 put a 1', '-1 info', '+2 get a', '-2 get nil', '+3 get a', '-3 get 1'))).toBe('linearizable');
  });

  it('an info write may also never take effect', () => {
    expect(verdict(h('+1 put a 1', '-1 info', '+2 get a', '-2 get nil'))).toBe('linearizable');
  });

  it('an open (never completed) write is treated like info, never dropped', () => {
    expect(verdict(h('+1 put a 1', '+2 get a', '-2 get nil', '+3 get a', '-3 get 1'))).toBe('linearizable');
    // Open means possibly applied once, at one instant: it cannot explain 1, then nil, then 1.
    expect(verdict(h('+1 put a 1', '+2 get a', '-2 get 1', '+4 delete a', '-4 ok', '+3 get a', '-3 get 1'))).toBe(
      'not-linearizable',
    );
  });

  it('an info CAS applies only if its expected value matches', () => {
    expect(verdict(h('+1 put a 0', '-1 ok', '+2 cas a 0 5', '-2 info', '+3 get a', '-3 get 5'))).toBe('linearizable');
    expect(verdict(h('+1 put a 0', '-1 ok', '+2 cas a 9 5', '-2 info', '+3 get a', '-3 get 5'))).toBe('not-linearizable');
  });

  it('a CAS that reports no swap is a real observation', () => {
    expect(verdict(h('+1 put a 0', '-1 ok', '+2 cas a 0 1', '-2 cas no'))).toBe('not-linearizable');
    expect(verdict(h('+1 put a 0', '-1 ok', '+2 cas a 7 1', '-2 cas no', '+3 get a', '-3 get 0'))).toBe('linearizable');
  });

  it('keys are independent: a fault on one key is reported on that key only', () => {
    const result = checkLinearizability(
      kvModel,
      h('+1 put a 1', '+2 put b 1', '-1 ok', '-2 ok', '+3 get a', '-3 get 1', '+4 get b', '-4 get 9'),
      { checkAllPartitions: true },
    );
    expect(result.verdict).toBe('not-linearizable');
    expect(result.partitions.map((p) => [p.key, p.verdict])).toEqual([
      ['a', 'linearizable'],
      ['b', 'not-linearizable'],
    ]);
    expect(result.partitions[0]?.longestPrefix).toEqual([1, 3]);
  });

  it('an empty history is linearizable', () => {
    expect(checkLinearizability(kvModel, []).verdict).toBe('linearizable');
  });
});
