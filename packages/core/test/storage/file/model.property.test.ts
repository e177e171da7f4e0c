import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../../src/raft/types.js';
import { FileStorage } from '../../../src/storage/file/file-storage.js';
import { MemoryStorage } from '../../../src/storage/memory-storage.js';
import { plain, removeDir, tempDir } from './helpers.js';

/**
 * Model-based property: random sequences of storage operations, including
 * close-and-reopen, applied to FileStorage and to MemoryStorage (the model)
 * must leave both in the same observable state after every step, and fail
 * with the same error class when they fail. Tiny segments and no cache make
 * every sequence cross segments, read from disk and delete compacted files.
 * SYNOD_PROPERTY_RUNS raises the number of sequences for a long run.
 *
 * Operations are shaped into what a Raft node can do (terms never go down, a
 * vote is not changed within its term, nothing committed is truncated, no
 * compaction past the snapshot), because FileStorage refuses the rest, on
 * write and on replay; the refusals themselves are checked where they are
 * generated.
 */

type Op =
  | { readonly kind: 'append'; readonly back: number; readonly count: number; readonly term: number; readonly size: number }
  | { readonly kind: 'hardState'; readonly term: number; readonly vote: string | undefined; readonly commit: number }
  | { readonly kind: 'compact'; readonly back: number }
  | { readonly kind: 'createSnapshot'; readonly back: number }
  | { readonly kind: 'applySnapshot'; readonly ahead: number; readonly term: number }
  | { readonly kind: 'sync' }
  | { readonly kind: 'reopen' };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      back: fc.integer({ min: 0, max: 6 }),
      count: fc.integer({ min: 1, max: 6 }),
      term: fc.integer({ min: 1, max: 9 }),
      size: fc.integer({ min: 0, max: 300 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('hardState' as const),
      term: fc.integer({ min: 0, max: 9 }),
      vote: fc.constantFrom(undefined, 'a', 'n-é'),
      commit: fc.integer({ min: 0, max: 50 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('compact' as const), back: fc.integer({ min: -1, max: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('createSnapshot' as const), back: fc.integer({ min: -1, max: 8 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('applySnapshot' as const),
      ahead: fc.integer({ min: -4, max: 6 }),
      term: fc.integer({ min: 1, max: 9 }),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'sync' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'reopen' as const }) },
);

const entriesFor = (from: number, count: number, term: number, size: number): Entry[] =>
  Array.from({ length: count }, (_, k) => ({
    index: from + k,
    term,
    type: k % 3 === 2 ? 'conf-change' : 'normal',
    data: new Uint8Array(size).fill((from + k) & 0xff),
  }));

/** Runs `f` and returns the class of what it threw, or 'ok'. */
function outcome(f: () => void): string {
  try {
    f();
    return 'ok';
  } catch (error) {
    return error instanceof Error ? error.constructor.name : 'unknown';
  }
}

function expectSame(file: FileStorage, model: MemoryStorage): void {
  expect(file.firstIndex()).toBe(model.firstIndex());
  expect(file.lastIndex()).toBe(model.lastIndex());
  for (let i = model.firstIndex() - 1; i <= model.lastIndex(); i++) expect(file.term(i)).toBe(model.term(i));
  const lo = model.firstIndex();
  const hi = model.lastIndex() + 1;
  expect(file.entries(lo, hi).map(plain)).toEqual(model.entries(lo, hi).map(plain));
  if (hi > lo) expect(file.entries(lo, hi, 500).map(plain)).toEqual(model.entries(lo, hi, 500).map(plain));
  expect(file.initialState()).toEqual(model.initialState());
  expect(file.snapshot().metadata).toEqual(model.snapshot().metadata);
  expect(Array.from(file.snapshot().data)).toEqual(Array.from(model.snapshot().data));
}

const runs = Number(process.env['SYNOD_PROPERTY_RUNS'] ?? 150);

describe('FileStorage against the MemoryStorage model (property)', () => {
  it('matches the model after every operation, across reopens', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 50 }), async (ops) => {
        const dir = tempDir();
        const options = { segmentBytes: 1024, cacheBytes: 0 };
        let file = await FileStorage.open(dir, options);
        const model = new MemoryStorage();
        try {
          for (const o of ops) {
            switch (o.kind) {
              case 'append': {
                const commit = model.initialState().hardState.commit;
                const from = Math.max(model.lastIndex() + 1 - o.back, commit + 1);
                const start = Math.max(from, model.firstIndex());
                const before = start - 1 <= model.lastIndex() ? model.term(start - 1) : 0;
                const entries = entriesFor(from, o.count, Math.max(o.term, before), o.size);
                expect(outcome(() => file.append(entries))).toBe(outcome(() => model.append(entries)));
                break;
              }
              case 'hardState': {
                const current = model.initialState().hardState;
                const term = Math.max(o.term, current.term);
                const vote = term === current.term && current.vote !== undefined ? current.vote : o.vote;
                const hs = { term, vote, commit: Math.min(o.commit, model.lastIndex()) };
                file.setHardState(hs);
                model.setHardState(hs);
                break;
              }
              case 'compact': {
                const at = model.lastIndex() - o.back;
                if (at > model.snapshot().metadata.index && at >= model.firstIndex() && at <= model.lastIndex()) {
                  expect(outcome(() => file.compact(at))).toBe('InvalidArgumentError');
                  break;
                }
                expect(outcome(() => file.compact(at))).toBe(outcome(() => model.compact(at)));
                break;
              }
              case 'createSnapshot': {
                const at = model.lastIndex() - o.back;
                const data = new Uint8Array([at & 0xff, 1]);
                expect(outcome(() => file.createSnapshot(at, data))).toBe(outcome(() => model.createSnapshot(at, data)));
                break;
              }
              case 'applySnapshot': {
                const snapshot = {
                  metadata: {
                    index: Math.max(0, model.lastIndex() + o.ahead, model.initialState().hardState.commit),
                    term: Math.max(o.term, model.term(model.firstIndex() - 1)),
                    confState: model.snapshot().metadata.confState,
                  },
                  data: new Uint8Array([o.term]),
                };
                expect(outcome(() => file.applySnapshot(snapshot))).toBe(outcome(() => model.applySnapshot(snapshot)));
                break;
              }
              case 'sync':
                await file.sync();
                break;
              case 'reopen':
                await file.close();
                file = await FileStorage.open(dir, options);
                expect(file.recovery().truncatedTail).toBeUndefined();
                break;
            }
            expectSame(file, model);
          }
        } finally {
          await file.close();
          removeDir(dir);
        }
      }),
      { numRuns: runs },
    );
  }, runs * 200 + 30_000);
});
