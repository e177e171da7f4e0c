import { describe, expect, it } from 'vitest';
import {
  CorruptionError,
  InvalidArgumentError,
  KvStateMachine,
  decodeKvCommand,
  decodeKvResult,
  encodeKvCommand,
  encodeKvCommandBatch,
  encodeKvResult,
  type KvBatchableCommand,
  type KvEvent,
} from '../../src/index.js';

/*
 * Issue 14: a server folds the writes of concurrent clients into one batch
 * command, one log entry. Each command keeps its own session and result.
 */

const s = (clientId: string, sequence: number) => ({ clientId, sequence });
const ctx = (index: number) => ({ index, term: 1 });

describe('KV batch command', () => {
  it('round-trips through the codec, and equals the batch of pre-encoded parts', () => {
    const commands: KvBatchableCommand[] = [
      { type: 'put', key: 'a', value: '1', session: s('c1', 1) },
      { type: 'delete', key: 'b' },
      { type: 'cas', key: 'c', expected: { kind: 'absent' }, value: 'x', session: s('c2', 4) },
    ];
    const bytes = encodeKvCommand({ type: 'batch', commands });
    expect(decodeKvCommand(bytes)).toEqual({ type: 'batch', commands });
    expect(encodeKvCommandBatch(commands.map((c) => encodeKvCommand(c)))).toEqual(bytes);
  });

  it('refuses to encode an empty batch or one holding a read or a batch', () => {
    expect(() => encodeKvCommand({ type: 'batch', commands: [] })).toThrow(InvalidArgumentError);
    expect(() => encodeKvCommandBatch([])).toThrow(InvalidArgumentError);
    expect(() => encodeKvCommand({ type: 'batch', commands: [{ type: 'get', key: 'a' } as never] })).toThrow(InvalidArgumentError);
  });

  it('decodes only well-formed batches', () => {
    const get = encodeKvCommand({ type: 'get', key: 'a' });
    const put = encodeKvCommand({ type: 'put', key: 'a', value: '1' });
    const inner = encodeKvCommandBatch([put]);
    for (const bad of [
      encodeKvCommandBatch([get]), // a read inside
      encodeKvCommandBatch([inner]), // a batch inside
      Uint8Array.of(1, 6, 0, 0), // no commands
      Uint8Array.of(1, 6, 1, 1, 2, 1, 1), // flags set
      Uint8Array.of(1, 6, 0, 1, 50, 1, 1), // a part longer than the input
      Uint8Array.of(1, 6, 0, 200, 1), // a count larger than the input
    ]) {
      expect(() => decodeKvCommand(bad)).toThrow(CorruptionError);
    }
  });

  it('applies its commands in order at one index, each with its own result and event', () => {
    const kv = new KvStateMachine();
    const events: KvEvent[] = [];
    kv.watch({ prefix: '' }, undefined, (event) => events.push(event));
    kv.applyCommand({ type: 'put', key: 'b', value: 'old' }, ctx(1));
    const result = kv.applyCommand(
      {
        type: 'batch',
        commands: [
          { type: 'put', key: 'a', value: '1' },
          { type: 'delete', key: 'b' },
          { type: 'cas', key: 'a', expected: { kind: 'value', value: '1' }, value: '2' },
          { type: 'put', key: '', value: 'empty key' },
        ],
      },
      ctx(2),
    );
    expect(result).toMatchObject({
      type: 'batch',
      revision: 4,
      results: [
        { type: 'put', revision: 2, prevKv: undefined },
        { type: 'delete', revision: 3, deleted: true, prevKv: { value: 'old' } },
        { type: 'cas', revision: 4, succeeded: true, kv: { value: '2' } },
        { type: 'rejected', reason: 'empty-key' },
      ],
    });
    expect(kv.appliedIndex).toBe(2);
    expect(events.map((e) => e.revision)).toEqual([1, 2, 3, 4]);
    expect(decodeKvResult(encodeKvResult(result))).toEqual(result);
  });

  it('keeps exactly-once per command: a retry inside a batch is answered from its session, a stale one refused', () => {
    const kv = new KvStateMachine();
    const first = kv.applyCommand({ type: 'put', key: 'a', value: '1', session: s('c1', 1) }, ctx(1));
    kv.applyCommand({ type: 'put', key: 'x', value: '1', session: s('c2', 1) }, ctx(2));
    kv.applyCommand({ type: 'put', key: 'x', value: '2', session: s('c2', 2) }, ctx(3));
    const result = kv.applyCommand(
      {
        type: 'batch',
        commands: [
          { type: 'put', key: 'a', value: '1', session: s('c1', 1) }, // a retry of the first put
          { type: 'put', key: 'x', value: 'late', session: s('c2', 1) }, // overtaken by sequence 2
          { type: 'put', key: 'b', value: '1', session: s('c3', 1) }, // new
          { type: 'put', key: 'c', value: '1', session: s('c4', 5) }, // a session the store does not know
        ],
      },
      ctx(4),
    );
    expect(result.type).toBe('batch');
    const results = result.type === 'batch' ? result.results : [];
    expect(results[0]).toBe(first);
    expect(results[1]).toMatchObject({ type: 'stale-sequence', clientId: 'c2', sequence: 1, lastSequence: 2 });
    expect(results[2]).toMatchObject({ type: 'put', revision: 4 });
    expect(results[3]).toMatchObject({ type: 'session-expired', clientId: 'c4' });
    expect(kv.get('a')?.version).toBe(1);
    expect(kv.get('x')?.value).toBe('2');
    expect(kv.revision).toBe(4);
    // The batch is a log entry like any other: a replica that replays it gets the same state.
    const replica = new KvStateMachine();
    replica.restore(kv.snapshot());
    expect(replica.snapshot()).toEqual(kv.snapshot());
  });

  it('validate checks every command of a batch', () => {
    const kv = new KvStateMachine({ maxValueBytes: 4 });
    expect(() => kv.validate({ type: 'batch', commands: [{ type: 'put', key: 'a', value: '1' }, { type: 'put', key: 'b', value: 'too long' }] })).toThrow(/value/);
  });
});
