import { describe, expect, it } from 'vitest';
import {
  overlappingWritesThenStaleRead,
  type HistoryEvent,
  type KvInput,
  type KvOutput,
  type RegisterInput,
  type RegisterOutput,
} from '../../src/history/index.js';
import { checkLinearizability, describeUndecided, kvModel } from '../../src/linearizability/index.js';

type KvEvent = HistoryEvent<KvInput, KvOutput>;

/** A register history as the history of one key, its ids and times shifted to follow `after`. */
function onKey(key: string, events: readonly HistoryEvent<RegisterInput, RegisterOutput>[], after: readonly KvEvent[]): KvEvent[] {
  const idBase = after.reduce((m, e) => Math.max(m, e.id + 1), 0);
  const timeBase = after.reduce((m, e) => Math.max(m, e.time + 1), 0);
  const value = (v: unknown): string | null => (v === null ? null : String(v));
  return events.map((e): KvEvent => {
    const common = { id: e.id + idBase, client: `${key}-${String(e.client)}`, time: e.time + timeBase };
    if (e.type === 'invoke') {
      const input: KvInput = e.input.f === 'write' ? { f: 'put', key, value: String(e.input.value) } : { f: 'get', key };
      return { type: 'invoke', ...common, input };
    }
    if (e.type !== 'ok') return { type: e.type, ...common };
    return { type: 'ok', ...common, output: e.output.f === 'read' ? { f: 'get', value: value(e.output.value) } : { f: 'put' } };
  });
}

/** A quick linearizable key and a quick non-linearizable one. */
function goodKey(after: readonly KvEvent[]): KvEvent[] {
  return onKey(
    'good',
    [
      { type: 'invoke', id: 0, client: 0, time: 0, input: { f: 'write', value: 1 } },
      { type: 'ok', id: 0, client: 0, time: 1, output: { f: 'write' } },
      { type: 'invoke', id: 1, client: 0, time: 2, input: { f: 'read' } },
      { type: 'ok', id: 1, client: 0, time: 3, output: { f: 'read', value: 1 } },
    ],
    after,
  );
}

function badKey(after: readonly KvEvent[]): KvEvent[] {
  return onKey('bad', overlappingWritesThenStaleRead(2), after);
}

/** The hard key first, so that it holds memory while the others are searched. */
function history(...keys: ((after: readonly KvEvent[]) => KvEvent[])[]): KvEvent[] {
  let events: KvEvent[] = onKey('hard', overlappingWritesThenStaleRead(22), []);
  for (const key of keys) events = [...events, ...key(events)];
  return events;
}

const budget = { maxMemoryBytes: 4 * 2 ** 20, timeoutMs: 60_000 };

describe('partial verdicts when one key runs out of memory', () => {
  it('reports the keys it decided, and unknown with the reason for the one it could not', () => {
    const result = checkLinearizability(kvModel, history(goodKey), budget);
    expect(result.verdict).toBe('unknown');
    expect(result.partitions.map((p) => [p.key, p.verdict, p.undecided])).toEqual([
      ['hard', 'unknown', 'memory-budget'],
      ['good', 'linearizable', undefined],
    ]);
    expect(describeUndecided(result)).toMatch(
      /^unknown: stopped by the memory budget \(4\.0 MiB\) on 1 of 2 partitions; 1 of 2 partitions decided \(2 of 25 operations\); /,
    );
  });

  it('is not linearizable when a decided key is not, whatever the undecided key', () => {
    const result = checkLinearizability(kvModel, history(goodKey, badKey), { ...budget, checkAllPartitions: true });
    expect(result.verdict).toBe('not-linearizable');
    expect(result.partitions.map((p) => [p.key, p.verdict, p.undecided])).toEqual([
      ['hard', 'unknown', 'memory-budget'],
      ['good', 'linearizable', undefined],
      ['bad', 'not-linearizable', undefined],
    ]);
    expect(describeUndecided(result)).toBeUndefined();
  });

  it('finds the cheap failure before the hard key has used up the budget', () => {
    const result = checkLinearizability(kvModel, history(badKey), budget);
    expect(result.verdict).toBe('not-linearizable');
    expect(result.partitions.map((p) => [p.key, p.verdict, p.undecided])).toEqual([
      ['hard', 'unknown', 'stopped-after-failure'],
      ['bad', 'not-linearizable', undefined],
    ]);
  });
});
