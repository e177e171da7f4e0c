import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CorruptionError,
  KvStateMachine,
  encodeKvCommand,
  type KvCommand,
  type KvEvent,
  type KvResult,
  type KvStateMachineOptions,
} from '../../src/index.js';
import { busyCommand, log, type LogItem } from './arbitraries.js';

const options: KvStateMachineOptions = { sessionTtl: 50, maxSessions: 2, watchHistorySize: 5, maxKeyBytes: 16 };

function bytesOf(item: LogItem): Uint8Array {
  return 'raw' in item ? item.raw : encodeKvCommand(item.command);
}

function applyLog(kv: KvStateMachine, items: readonly LogItem[], firstIndex: number): KvResult[] {
  return items.map((item, i) => kv.apply(bytesOf(item), { index: firstIndex + i, term: 1 }));
}

function recorder(kv: KvStateMachine): KvEvent[] {
  const events: KvEvent[] = [];
  kv.watch({ prefix: '' }, kv.compactRevision + 1, (e) => events.push(e));
  return events;
}

describe('KvStateMachine determinism', () => {
  it('two machines fed the same log give identical results and identical snapshots', () => {
    fc.assert(
      fc.property(log, (items) => {
        const a = new KvStateMachine(options);
        const b = new KvStateMachine(options);
        const ra = applyLog(a, items, 1);
        const rb = applyLog(b, items, 1);
        expect(rb).toEqual(ra);
        expect(b.snapshot()).toEqual(a.snapshot());
      }),
      { numRuns: 300 },
    );
  });

  it('equal states give equal snapshot bytes, whatever order keys were created in', () => {
    const a = new KvStateMachine();
    const b = new KvStateMachine();
    const ctx = { index: 1, term: 1 };
    a.applyCommand({ type: 'put', key: 'x', value: '1' }, ctx);
    a.applyCommand({ type: 'put', key: 'y', value: '1' }, ctx);
    b.applyCommand({ type: 'put', key: 'y', value: '1' }, ctx);
    b.applyCommand({ type: 'put', key: 'x', value: '1' }, ctx);
    // Same keys and values but different revisions: snapshots differ.
    expect(b.snapshot()).not.toEqual(a.snapshot());
    const c = new KvStateMachine();
    c.restore(a.snapshot());
    expect(c.snapshot()).toEqual(a.snapshot());
  });

  it('matches a simple model of values and revision bookkeeping (property)', () => {
    interface Model {
      revision: number;
      keys: Map<string, { value: string; create: number; mod: number; version: number }>;
    }
    const plain = busyCommand.map((c): KvCommand => ('session' in c ? { ...c, session: undefined } : c));
    fc.assert(
      fc.property(fc.array(plain, { maxLength: 80 }), (commands) => {
        const kv = new KvStateMachine();
        const model: Model = { revision: 0, keys: new Map() };
        const put = (key: string, value: string): void => {
          const prev = model.keys.get(key);
          model.revision++;
          model.keys.set(key, {
            value,
            create: prev?.create ?? model.revision,
            mod: model.revision,
            version: (prev?.version ?? 0) + 1,
          });
        };
        const applyToModel = (command: KvCommand): void => {
          if (command.type === 'batch') return command.commands.forEach(applyToModel);
          if (command.type === 'expire-sessions' || command.type === 'get' || command.key === '') return;
          if (command.type === 'put') put(command.key, command.value);
          if (command.type === 'delete' && model.keys.delete(command.key)) model.revision++;
          if (command.type === 'cas') {
            const cur = model.keys.get(command.key);
            const e = command.expected;
            const ok =
              e.kind === 'absent'
                ? cur === undefined
                : e.kind === 'value'
                  ? cur?.value === e.value
                  : (cur?.mod ?? 0) === e.modRevision;
            if (ok) put(command.key, command.value);
          }
        };
        commands.forEach((command, i) => {
          kv.applyCommand(command, { index: i + 1, term: 1 });
          applyToModel(command);
        });
        expect(kv.revision).toBe(model.revision);
        const actual = kv.range('').kvs.map((x) => [x.key, x.value, x.createRevision, x.modRevision, x.version]);
        const expected = [...model.keys.entries()]
          .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
          .map(([k, v]) => [k, v.value, v.create, v.mod, v.version]);
        expect(actual).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});

describe('KvStateMachine snapshot and restore', () => {
  it('restore(snapshot()) behaves identically from then on: results, events and snapshots (property)', () => {
    fc.assert(
      fc.property(log, log, (before, after) => {
        const original = new KvStateMachine(options);
        applyLog(original, before, 1);
        const copy = new KvStateMachine(options);
        copy.restore(original.snapshot());
        expect(copy.snapshot()).toEqual(original.snapshot());
        expect(copy.revision).toBe(original.revision);
        expect(copy.compactRevision).toBe(original.compactRevision);
        expect(copy.range('')).toEqual(original.range(''));

        // Watches starting at the oldest available revision see the same history.
        const eventsOriginal = recorder(original);
        const eventsCopy = recorder(copy);
        expect(eventsCopy).toEqual(eventsOriginal);

        const next = before.length + 1;
        expect(applyLog(copy, after, next)).toEqual(applyLog(original, after, next));
        expect(eventsCopy).toEqual(eventsOriginal);
        expect(copy.snapshot()).toEqual(original.snapshot());
      }),
      { numRuns: 300 },
    );
  });

  it('keeps cached session results across a snapshot, so a retry after restore is not applied twice', () => {
    const original = new KvStateMachine();
    const put = encodeKvCommand({ type: 'put', key: 'a', value: '1', session: { clientId: 'c1', sequence: 1 } });
    const first = original.apply(put, { index: 1, term: 1 });
    const copy = new KvStateMachine();
    copy.restore(original.snapshot());
    expect(copy.apply(put, { index: 2, term: 1 })).toEqual(first);
    expect(copy.revision).toBe(1);
    expect(copy.appliedIndex).toBe(2);
  });

  it('a restore replaces all previous state', () => {
    const empty = new KvStateMachine().snapshot();
    const kv = new KvStateMachine();
    kv.applyCommand({ type: 'put', key: 'a', value: '1', session: { clientId: 'c', sequence: 1 } }, { index: 1, term: 1 });
    kv.restore(empty);
    expect(kv.size).toBe(0);
    expect(kv.revision).toBe(0);
    expect(kv.sessionCount).toBe(0);
    expect(kv.snapshot()).toEqual(empty);
  });

  it('rejects damaged or garbage snapshots with CorruptionError and leaves the state unchanged (property)', () => {
    const source = new KvStateMachine();
    const ctx = { index: 1, term: 1 };
    source.applyCommand({ type: 'put', key: 'a', value: 'hello', session: { clientId: 'c', sequence: 1 } }, ctx);
    source.applyCommand({ type: 'delete', key: 'a' }, ctx);
    const good = source.snapshot();

    const target = new KvStateMachine();
    target.applyCommand({ type: 'put', key: 'keep', value: 'me' }, ctx);
    const before = target.snapshot();

    const damaged = fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([at, mask]) => {
        const bytes = good.slice();
        bytes[at % bytes.length] ^= mask;
        return bytes;
      }),
      fc.nat({ max: good.length - 1 }).map((cut) => good.slice(0, cut)),
    );
    fc.assert(
      fc.property(damaged, (bytes) => {
        expect(() => target.restore(bytes)).toThrow(CorruptionError);
        expect(target.snapshot()).toEqual(before);
      }),
      { numRuns: 1000 },
    );
  });

  it('trims history and sessions from a snapshot made with larger limits', () => {
    const big = new KvStateMachine({ watchHistorySize: 10, maxSessions: 10 });
    for (let i = 1; i <= 6; i++) {
      big.applyCommand(
        { type: 'put', key: 'a', value: String(i), session: { clientId: `c${i}`, sequence: 1 } },
        { index: i, term: 1 },
      );
    }
    const small = new KvStateMachine({ watchHistorySize: 2, maxSessions: 3 });
    small.restore(big.snapshot());
    expect(small.compactRevision).toBe(4);
    expect(small.sessionCount).toBe(3);
    expect(
      small.applyCommand({ type: 'put', key: 'a', value: 'x', session: { clientId: 'c3', sequence: 2 } }, { index: 7, term: 1 }),
    ).toMatchObject({ type: 'session-expired' });
  });
});
