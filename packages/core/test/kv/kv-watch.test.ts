import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  KvStateMachine,
  WatchCompactedError,
  type KvCommand,
  type KvEvent,
} from '../../src/index.js';

function applyAll(kv: KvStateMachine, commands: KvCommand[]): void {
  for (const command of commands) kv.applyCommand(command, { index: kv.appliedIndex + 1, term: 1 });
}

function summary(event: KvEvent): string {
  return event.type === 'put' ? `${event.revision} put ${event.kv.key}=${event.kv.value}` : `${event.revision} del ${event.key}`;
}

describe('KvStateMachine watch', () => {
  it('delivers put and delete events for a key in revision order, with revisions and previous values', () => {
    const kv = new KvStateMachine();
    const events: KvEvent[] = [];
    kv.watch({ key: 'a' }, undefined, (e) => events.push(e));
    applyAll(kv, [
      { type: 'put', key: 'a', value: '1' },
      { type: 'put', key: 'b', value: 'x' },
      { type: 'cas', key: 'a', expected: { kind: 'value', value: '1' }, value: '2' },
      { type: 'cas', key: 'a', expected: { kind: 'value', value: 'nope' }, value: '3' },
      { type: 'delete', key: 'a' },
      { type: 'delete', key: 'a' },
    ]);
    expect(events.map(summary)).toEqual(['1 put a=1', '3 put a=2', '4 del a']);
    expect(events[1]).toMatchObject({ prevKv: { value: '1', modRevision: 1 }, kv: { version: 2, createRevision: 1 } });
    expect(events[2]).toMatchObject({ type: 'delete', prevKv: { value: '2', modRevision: 3 } });
  });

  it('watches a prefix', () => {
    const kv = new KvStateMachine();
    const seen: string[] = [];
    kv.watch({ prefix: 'dir/' }, undefined, (e) => seen.push(summary(e)));
    applyAll(kv, [
      { type: 'put', key: 'dir/1', value: 'a' },
      { type: 'put', key: 'dirx', value: 'b' },
      { type: 'put', key: 'dir/2', value: 'c' },
    ]);
    expect(seen).toEqual(['1 put dir/1=a', '3 put dir/2=c']);
  });

  it('starts from a past revision: replays history at once, then continues live without gaps or repeats', () => {
    const kv = new KvStateMachine();
    applyAll(kv, [
      { type: 'put', key: 'a', value: '1' },
      { type: 'put', key: 'a', value: '2' },
      { type: 'put', key: 'a', value: '3' },
    ]);
    const seen: string[] = [];
    kv.watch({ key: 'a' }, 2, (e) => seen.push(summary(e)));
    expect(seen).toEqual(['2 put a=2', '3 put a=3']);
    applyAll(kv, [{ type: 'put', key: 'a', value: '4' }]);
    expect(seen).toEqual(['2 put a=2', '3 put a=3', '4 put a=4']);
  });

  it('a future start revision waits for it', () => {
    const kv = new KvStateMachine();
    const seen: number[] = [];
    kv.watch({ prefix: '' }, 3, (e) => seen.push(e.revision));
    applyAll(kv, [1, 2, 3, 4].map((i) => ({ type: 'put', key: `k${i}`, value: '' }) as const));
    expect(seen).toEqual([3, 4]);
  });

  it('throws WatchCompactedError for a revision that has left the bounded history', () => {
    const kv = new KvStateMachine({ watchHistorySize: 2 });
    applyAll(kv, [1, 2, 3, 4].map((i) => ({ type: 'put', key: 'a', value: String(i) }) as const));
    expect(kv.compactRevision).toBe(2);
    let error: unknown;
    try {
      kv.watch({ key: 'a' }, 2, () => undefined);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(WatchCompactedError);
    expect(error).toMatchObject({ code: 'WATCH_COMPACTED', requestedRevision: 2, compactRevision: 2 });
    const seen: number[] = [];
    kv.watch({ key: 'a' }, 3, (e) => seen.push(e.revision));
    expect(seen).toEqual([3, 4]);
  });

  it('with no history kept, only live watches work', () => {
    const kv = new KvStateMachine({ watchHistorySize: 0 });
    applyAll(kv, [{ type: 'put', key: 'a', value: '1' }]);
    expect(() => kv.watch({ key: 'a' }, 1, () => undefined)).toThrow(WatchCompactedError);
    const seen: number[] = [];
    kv.watch({ key: 'a' }, 2, (e) => seen.push(e.revision));
    applyAll(kv, [{ type: 'put', key: 'a', value: '2' }]);
    expect(seen).toEqual([2]);
  });

  it('stops delivering after unsubscribe, even when a listener unsubscribes mid-dispatch', () => {
    const kv = new KvStateMachine();
    const seen: string[] = [];
    const stopB: { fn?: () => void } = {};
    kv.watch({ key: 'a' }, undefined, (e) => {
      seen.push(`A${e.revision}`);
      stopB.fn?.();
    });
    stopB.fn = kv.watch({ key: 'a' }, undefined, (e) => seen.push(`B${e.revision}`));
    applyAll(kv, [{ type: 'put', key: 'a', value: '1' }]);
    stopB.fn();
    expect(seen).toEqual(['A1']);
  });

  it('a throwing listener does not disturb apply or other watchers', () => {
    const errors: unknown[] = [];
    const kv = new KvStateMachine({ onWatchListenerError: (err) => errors.push(err) });
    const seen: number[] = [];
    kv.watch({ key: 'a' }, undefined, () => {
      throw new Error('boom');
    });
    kv.watch({ key: 'a' }, undefined, (e) => seen.push(e.revision));
    const result = kv.applyCommand({ type: 'put', key: 'a', value: '1' }, { index: 1, term: 1 });
    expect(result).toMatchObject({ type: 'put', revision: 1 });
    expect(seen).toEqual([1]);
    expect(errors).toHaveLength(1);
  });

  it('rejects bad arguments with InvalidArgumentError', () => {
    const kv = new KvStateMachine();
    expect(() => kv.watch({ key: 'a' }, 0, () => undefined)).toThrow(InvalidArgumentError);
    expect(() => kv.watch({} as { key: string }, undefined, () => undefined)).toThrow(InvalidArgumentError);
  });

  it('after a restore, a watcher continues from the restored history', () => {
    const source = new KvStateMachine();
    const replica = new KvStateMachine();
    applyAll(source, [{ type: 'put', key: 'a', value: '1' }]);
    replica.restore(source.snapshot());
    const seen: string[] = [];
    replica.watch({ key: 'a' }, undefined, (e) => seen.push(summary(e)));
    applyAll(source, [
      { type: 'put', key: 'a', value: '2' },
      { type: 'delete', key: 'a' },
    ]);
    replica.restore(source.snapshot());
    expect(seen).toEqual(['2 put a=2', '3 del a']);
  });

  it('after a restore that skips past the history, a watcher is cancelled with WatchCompactedError', () => {
    const source = new KvStateMachine({ watchHistorySize: 1 });
    const replica = new KvStateMachine({ watchHistorySize: 1 });
    const seen: number[] = [];
    const cancelled: WatchCompactedError[] = [];
    replica.watch({ prefix: '' }, undefined, (e) => seen.push(e.revision), { onCancel: (e) => cancelled.push(e) });
    applyAll(source, [1, 2, 3].map((i) => ({ type: 'put', key: 'a', value: String(i) }) as const));
    replica.restore(source.snapshot());
    expect(seen).toEqual([]);
    expect(cancelled).toHaveLength(1);
    expect(cancelled[0]).toMatchObject({ requestedRevision: 1, compactRevision: 2 });
    applyAll(replica, [{ type: 'put', key: 'a', value: '4' }]);
    expect(seen).toEqual([]);
  });
});
