import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  KvLimitExceededError,
  KvStateMachine,
  encodeKvCommand,
  type KvCommand,
  type KvResult,
} from '../../src/index.js';

/** Applies commands at consecutive indexes and returns the last result. */
function run(kv: KvStateMachine, ...commands: KvCommand[]): KvResult {
  let result: KvResult | undefined;
  for (const command of commands) result = kv.applyCommand(command, { index: kv.appliedIndex + 1, term: 1 });
  if (result === undefined) throw new Error('no command');
  return result;
}

describe('KvStateMachine put', () => {
  it('creates a key at revision 1 with version 1 and no previous value', () => {
    const kv = new KvStateMachine();
    expect(kv.revision).toBe(0);
    const result = run(kv, { type: 'put', key: 'a', value: '1' });
    expect(result).toEqual({
      type: 'put',
      revision: 1,
      kv: { key: 'a', value: '1', createRevision: 1, modRevision: 1, version: 1 },
      prevKv: undefined,
    });
    expect(kv.revision).toBe(1);
    expect(kv.get('a')?.value).toBe('1');
  });

  it('keeps createRevision, bumps modRevision and version, and returns the previous value on update', () => {
    const kv = new KvStateMachine();
    run(kv, { type: 'put', key: 'a', value: '1' }, { type: 'put', key: 'b', value: 'x' });
    const result = run(kv, { type: 'put', key: 'a', value: '2' });
    expect(result).toEqual({
      type: 'put',
      revision: 3,
      kv: { key: 'a', value: '2', createRevision: 1, modRevision: 3, version: 2 },
      prevKv: { key: 'a', value: '1', createRevision: 1, modRevision: 1, version: 1 },
    });
  });

  it('bumps the revision even when the value does not change', () => {
    const kv = new KvStateMachine();
    run(kv, { type: 'put', key: 'a', value: '1' }, { type: 'put', key: 'a', value: '1' });
    expect(kv.revision).toBe(2);
    expect(kv.get('a')).toMatchObject({ modRevision: 2, version: 2 });
  });

  it('stores empty values and non-ASCII keys and values exactly', () => {
    const kv = new KvStateMachine();
    run(kv, { type: 'put', key: 'ключ/😀', value: '' }, { type: 'put', key: '\uFEFFbom', value: '\uFEFF値' });
    expect(kv.get('ключ/😀')?.value).toBe('');
    expect(kv.get('\uFEFFbom')?.value).toBe('\uFEFF値');
  });
});

describe('KvStateMachine delete', () => {
  it('removes an existing key, bumps the revision and returns the previous value', () => {
    const kv = new KvStateMachine();
    run(kv, { type: 'put', key: 'a', value: '1' });
    const result = run(kv, { type: 'delete', key: 'a' });
    expect(result).toEqual({
      type: 'delete',
      revision: 2,
      deleted: true,
      prevKv: { key: 'a', value: '1', createRevision: 1, modRevision: 1, version: 1 },
    });
    expect(kv.get('a')).toBeUndefined();
    expect(kv.size).toBe(0);
  });

  it('deleting a missing key changes nothing and does not bump the revision', () => {
    const kv = new KvStateMachine();
    run(kv, { type: 'put', key: 'a', value: '1' });
    const result = run(kv, { type: 'delete', key: 'missing' });
    expect(result).toEqual({ type: 'delete', revision: 1, deleted: false, prevKv: undefined });
    expect(kv.revision).toBe(1);
  });

  it('a key re-created after delete starts a new life: new createRevision, version 1', () => {
    const kv = new KvStateMachine();
    run(kv, { type: 'put', key: 'a', value: '1' }, { type: 'put', key: 'a', value: '2' }, { type: 'delete', key: 'a' });
    const result = run(kv, { type: 'put', key: 'a', value: '3' });
    expect(result).toMatchObject({
      revision: 4,
      kv: { createRevision: 4, modRevision: 4, version: 1 },
      prevKv: undefined,
    });
  });
});

describe('KvStateMachine compare-and-swap', () => {
  it('by value: swaps when the value matches', () => {
    const kv = new KvStateMachine();
    run(kv, { type: 'put', key: 'a', value: '1' });
    const result = run(kv, { type: 'cas', key: 'a', expected: { kind: 'value', value: '1' }, value: '2' });
    expect(result).toEqual({
      type: 'cas',
      revision: 2,
      succeeded: true,
      kv: { key: 'a', value: '2', createRevision: 1, modRevision: 2, version: 2 },
    });
  });

  it('by value: fails without a revision bump and reports the current value when it differs', () => {
    const kv = new KvStateMachine();
    run(kv, { type: 'put', key: 'a', value: '1' });
    const result = run(kv, { type: 'cas', key: 'a', expected: { kind: 'value', value: 'nope' }, value: '2' });
    expect(result).toEqual({
      type: 'cas',
      revision: 1,
      succeeded: false,
      kv: { key: 'a', value: '1', createRevision: 1, modRevision: 1, version: 1 },
    });
    expect(kv.revision).toBe(1);
  });

  it('by value: fails on a missing key, even when expecting the empty string', () => {
    const kv = new KvStateMachine();
    const result = run(kv, { type: 'cas', key: 'a', expected: { kind: 'value', value: '' }, value: '2' });
    expect(result).toEqual({ type: 'cas', revision: 0, succeeded: false, kv: undefined });
  });

  it('must-not-exist: creates a missing key and fails on an existing one', () => {
    const kv = new KvStateMachine();
    const created = run(kv, { type: 'cas', key: 'lock', expected: { kind: 'absent' }, value: 'n1' });
    expect(created).toMatchObject({ succeeded: true, revision: 1, kv: { value: 'n1', version: 1, createRevision: 1 } });
    const second = run(kv, { type: 'cas', key: 'lock', expected: { kind: 'absent' }, value: 'n2' });
    expect(second).toMatchObject({ succeeded: false, revision: 1, kv: { value: 'n1' } });
  });

  it('by mod revision: swaps only at the exact modRevision', () => {
    const kv = new KvStateMachine();
    run(kv, { type: 'put', key: 'a', value: '1' }, { type: 'put', key: 'b', value: '1' }, { type: 'put', key: 'a', value: '2' });
    const stale = run(kv, { type: 'cas', key: 'a', expected: { kind: 'mod-revision', modRevision: 1 }, value: 'x' });
    expect(stale).toMatchObject({ succeeded: false, revision: 3, kv: { value: '2', modRevision: 3 } });
    const fresh = run(kv, { type: 'cas', key: 'a', expected: { kind: 'mod-revision', modRevision: 3 }, value: 'x' });
    expect(fresh).toMatchObject({ succeeded: true, revision: 4, kv: { value: 'x', modRevision: 4, version: 3 } });
  });

  it('by mod revision 0: means the key must not exist, as in etcd', () => {
    const kv = new KvStateMachine();
    const created = run(kv, { type: 'cas', key: 'a', expected: { kind: 'mod-revision', modRevision: 0 }, value: '1' });
    expect(created).toMatchObject({ succeeded: true, revision: 1 });
    const again = run(kv, { type: 'cas', key: 'a', expected: { kind: 'mod-revision', modRevision: 0 }, value: '2' });
    expect(again).toMatchObject({ succeeded: false, kv: { value: '1' } });
  });
});

describe('KvStateMachine get', () => {
  it('through the log returns the value and the revision without changing anything', () => {
    const kv = new KvStateMachine();
    run(kv, { type: 'put', key: 'a', value: '1' }, { type: 'put', key: 'b', value: '2' });
    expect(run(kv, { type: 'get', key: 'a' })).toEqual({
      type: 'get',
      revision: 2,
      kv: { key: 'a', value: '1', createRevision: 1, modRevision: 1, version: 1 },
    });
    expect(run(kv, { type: 'get', key: 'zz' })).toEqual({ type: 'get', revision: 2, kv: undefined });
    expect(kv.revision).toBe(2);
  });

  it('as a query answers get and range in key order with a limit', () => {
    const kv = new KvStateMachine();
    run(
      kv,
      { type: 'put', key: 'dir/b', value: '2' },
      { type: 'put', key: 'dir/a', value: '1' },
      { type: 'put', key: 'dir/c', value: '3' },
      { type: 'put', key: 'other', value: '0' },
    );
    expect(kv.query({ type: 'get', key: 'dir/a' })).toMatchObject({ type: 'get', revision: 4, kv: { value: '1' } });
    const all = kv.query({ type: 'range', prefix: 'dir/' });
    expect(all).toMatchObject({ type: 'range', revision: 4, more: false });
    expect(all.type === 'range' && all.kvs.map((x) => x.key)).toEqual(['dir/a', 'dir/b', 'dir/c']);
    const page = kv.range('dir/', 2);
    expect(page.kvs.map((x) => x.key)).toEqual(['dir/a', 'dir/b']);
    expect(page.more).toBe(true);
    expect(kv.range('').kvs).toHaveLength(4);
  });

  it('rejects malformed queries with InvalidArgumentError', () => {
    const kv = new KvStateMachine();
    expect(() => kv.range('a', 0)).toThrow(InvalidArgumentError);
    expect(() => kv.query({ type: 'nope' } as unknown as { type: 'get'; key: string })).toThrow(InvalidArgumentError);
  });
});

describe('KvStateMachine rejections and limits', () => {
  it('an empty entry (leader no-op) returns noop and changes nothing', () => {
    const kv = new KvStateMachine();
    expect(kv.apply(new Uint8Array(0), { index: 1, term: 2 })).toEqual({ type: 'noop', revision: 0 });
    expect(kv.appliedIndex).toBe(1);
  });

  it('garbage bytes are rejected as malformed instead of throwing', () => {
    const kv = new KvStateMachine();
    const result = kv.apply(new Uint8Array([9, 9, 9]), { index: 1, term: 1 });
    expect(result).toMatchObject({ type: 'rejected', reason: 'malformed' });
    expect(kv.revision).toBe(0);
  });

  it('empty and oversized keys and values are rejected deterministically by apply', () => {
    const kv = new KvStateMachine({ maxKeyBytes: 4, maxValueBytes: 3 });
    expect(run(kv, { type: 'put', key: '', value: '1' })).toMatchObject({ type: 'rejected', reason: 'empty-key' });
    // "ééé" is 3 characters but 6 UTF-8 bytes: limits count bytes.
    expect(run(kv, { type: 'put', key: 'ééé', value: '1' })).toMatchObject({ reason: 'key-too-large' });
    expect(run(kv, { type: 'put', key: 'k', value: '😀' })).toMatchObject({ reason: 'value-too-large' });
    expect(run(kv, { type: 'put', key: 'k', value: 'abc' })).toMatchObject({ type: 'put' });
    expect(
      run(kv, { type: 'cas', key: 'k', expected: { kind: 'value', value: 'abcd' }, value: 'x' }),
    ).toMatchObject({ reason: 'value-too-large' });
    expect(kv.revision).toBe(1);
  });

  it('validate() throws typed errors before proposing', () => {
    const kv = new KvStateMachine({ maxKeyBytes: 4, maxValueBytes: 3, maxClientIdBytes: 2 });
    expect(() => kv.validate({ type: 'put', key: 'k', value: 'abcd' })).toThrow(KvLimitExceededError);
    try {
      kv.validate({ type: 'delete', key: 'keyyy' });
    } catch (err) {
      expect(err).toBeInstanceOf(KvLimitExceededError);
      expect(err).toMatchObject({ code: 'KV_LIMIT_EXCEEDED', limit: 'key', sizeBytes: 5, limitBytes: 4 });
    }
    expect(() => kv.validate({ type: 'get', key: '' })).toThrow(InvalidArgumentError);
    expect(() => kv.validate({ type: 'get', key: 'k', session: { clientId: 'abc', sequence: 1 } })).toThrow(
      KvLimitExceededError,
    );
    expect(() => kv.validate({ type: 'put', key: 'k', value: 'abc' })).not.toThrow();
  });

  it('rejects invalid options', () => {
    expect(() => new KvStateMachine({ maxKeyBytes: 0 })).toThrow(InvalidArgumentError);
    expect(() => new KvStateMachine({ watchHistorySize: 1.5 })).toThrow(InvalidArgumentError);
  });

  it('rejects an invalid apply context (a driver bug) with InvalidArgumentError', () => {
    const kv = new KvStateMachine();
    const bytes = encodeKvCommand({ type: 'put', key: 'a', value: '1' });
    expect(() => kv.apply(bytes, { index: -1, term: 1 })).toThrow(InvalidArgumentError);
    expect(kv.revision).toBe(0);
  });

  it('returns frozen results so callers cannot corrupt the store', () => {
    const kv = new KvStateMachine();
    const result = run(kv, { type: 'put', key: 'a', value: '1' });
    expect(Object.isFrozen(result)).toBe(true);
    expect(result.type === 'put' && Object.isFrozen(result.kv)).toBe(true);
  });
});
