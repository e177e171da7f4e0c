import { describe, expect, it } from 'vitest';
import { KvStateMachine, encodeKvCommand, type KvCommand, type KvResult } from '../../src/index.js';

/** A tiny log: applies commands at consecutive indexes. */
class Log {
  index = 0;
  constructor(readonly kv: KvStateMachine) {}
  apply(command: KvCommand): KvResult {
    return this.kv.applyCommand(command, { index: ++this.index, term: 1 });
  }
}

const s = (clientId: string, sequence: number) => ({ clientId, sequence });

describe('client sessions (Raft thesis §6.3)', () => {
  it('applies a retried (clientId, sequence) once and returns the cached result', () => {
    const log = new Log(new KvStateMachine());
    const put = { type: 'put', key: 'a', value: '1', session: s('c1', 1) } as const;
    const first = log.apply(put);
    const retry = log.apply(put);
    expect(retry).toEqual(first);
    expect(retry).toBe(first);
    expect(log.kv.revision).toBe(1);
    expect(log.kv.get('a')?.version).toBe(1);
  });

  it('caches the result even when a retry carries a different command body', () => {
    // The sequence identifies the request; a client never reuses one, so
    // whatever arrives under an applied sequence is a retry of that request.
    const log = new Log(new KvStateMachine());
    const first = log.apply({ type: 'put', key: 'a', value: '1', session: s('c1', 1) });
    expect(log.apply({ type: 'delete', key: 'a', session: s('c1', 1) })).toBe(first);
    expect(log.kv.get('a')?.value).toBe('1');
  });

  it('a retried compare-and-swap does not fail against its own write', () => {
    const log = new Log(new KvStateMachine());
    const cas = { type: 'cas', key: 'lock', expected: { kind: 'absent' }, value: 'me', session: s('c1', 1) } as const;
    const first = log.apply(cas);
    expect(first).toMatchObject({ type: 'cas', succeeded: true });
    expect(log.apply(cas)).toMatchObject({ type: 'cas', succeeded: true, revision: 1 });
  });

  it('a sequence older than the last applied one gets stale-sequence and is not applied', () => {
    const log = new Log(new KvStateMachine());
    log.apply({ type: 'put', key: 'a', value: '1', session: s('c1', 1) });
    log.apply({ type: 'put', key: 'a', value: '2', session: s('c1', 2) });
    const stale = log.apply({ type: 'put', key: 'a', value: 'late', session: s('c1', 1) });
    expect(stale).toEqual({ type: 'stale-sequence', clientId: 'c1', sequence: 1, lastSequence: 2 });
    expect(log.kv.get('a')?.value).toBe('2');
    expect(log.kv.revision).toBe(2);
  });

  it('keeps sessions of different clients apart', () => {
    const log = new Log(new KvStateMachine());
    log.apply({ type: 'put', key: 'a', value: 'x', session: s('c1', 1) });
    const other = log.apply({ type: 'put', key: 'a', value: 'y', session: s('c2', 1) });
    expect(other).toMatchObject({ type: 'put', revision: 2 });
    expect(log.kv.sessionCount).toBe(2);
  });

  it('commands without a session are applied every time', () => {
    const log = new Log(new KvStateMachine());
    log.apply({ type: 'put', key: 'a', value: '1' });
    log.apply({ type: 'put', key: 'a', value: '1' });
    expect(log.kv.revision).toBe(2);
    expect(log.kv.sessionCount).toBe(0);
  });

  it('registers a session only on sequence 1; a later sequence from an unknown client is session-expired', () => {
    const log = new Log(new KvStateMachine());
    const result = log.apply({ type: 'put', key: 'a', value: '1', session: s('ghost', 5) });
    expect(result).toEqual({ type: 'session-expired', clientId: 'ghost', sequence: 5 });
    expect(log.kv.revision).toBe(0);
    expect(log.kv.sessionCount).toBe(0);
  });

  it('caches rejections too, so a retried oversized command gets the same answer', () => {
    const log = new Log(new KvStateMachine({ maxValueBytes: 1 }));
    const first = log.apply({ type: 'put', key: 'a', value: 'too big', session: s('c1', 1) });
    expect(first).toMatchObject({ type: 'rejected', reason: 'value-too-large' });
    expect(log.apply({ type: 'put', key: 'a', value: 'too big', session: s('c1', 1) })).toBe(first);
  });

  it('rejects an oversized client id without registering a session', () => {
    const log = new Log(new KvStateMachine({ maxClientIdBytes: 3 }));
    const result = log.apply({ type: 'put', key: 'a', value: '1', session: s('client', 1) });
    expect(result).toMatchObject({ type: 'rejected', reason: 'client-id-too-large' });
    expect(log.kv.sessionCount).toBe(0);
  });
});

describe('session expiry by log time', () => {
  it('expires sessions idle longer than the TTL at an expire-sessions command, in client id order', () => {
    const log = new Log(new KvStateMachine({ sessionTtl: 100 }));
    log.apply({ type: 'expire-sessions', now: 1000 });
    log.apply({ type: 'put', key: 'a', value: '1', session: s('zed', 1) });
    log.apply({ type: 'put', key: 'b', value: '1', session: s('amy', 1) });
    log.apply({ type: 'expire-sessions', now: 1050 });
    log.apply({ type: 'put', key: 'c', value: '1', session: s('kim', 1) }); // active at 1050
    expect(log.apply({ type: 'expire-sessions', now: 1100 })).toEqual({
      type: 'expire-sessions',
      revision: 3,
      expired: [],
    });
    expect(log.apply({ type: 'expire-sessions', now: 1101 })).toEqual({
      type: 'expire-sessions',
      revision: 3,
      expired: ['amy', 'zed'],
    });
    expect(log.kv.sessionCount).toBe(1);
    expect(log.apply({ type: 'expire-sessions', now: 1151 })).toMatchObject({ expired: ['kim'] });
  });

  it('an expired client continuing its session gets session-expired instead of a second application', () => {
    const log = new Log(new KvStateMachine({ sessionTtl: 10 }));
    log.apply({ type: 'put', key: 'n', value: '1', session: s('c1', 1) });
    log.apply({ type: 'expire-sessions', now: 11 });
    // The retry of sequence 1 may or may not have been applied before, as far
    // as the store can now tell, so it must not apply it again.
    expect(log.apply({ type: 'put', key: 'n', value: '1', session: s('c1', 2) })).toMatchObject({
      type: 'session-expired',
    });
    expect(log.kv.revision).toBe(1);
  });

  it('retries and new commands keep a session alive', () => {
    const log = new Log(new KvStateMachine({ sessionTtl: 10 }));
    log.apply({ type: 'put', key: 'a', value: '1', session: s('c1', 1) });
    log.apply({ type: 'expire-sessions', now: 8 });
    log.apply({ type: 'put', key: 'a', value: '1', session: s('c1', 1) }); // retry at log time 8
    expect(log.apply({ type: 'expire-sessions', now: 15 })).toMatchObject({ expired: [] });
    log.apply({ type: 'get', key: 'a', session: s('c1', 2) }); // active at 15
    expect(log.apply({ type: 'expire-sessions', now: 25 })).toMatchObject({ expired: [] });
    expect(log.apply({ type: 'expire-sessions', now: 26 })).toMatchObject({ expired: ['c1'] });
  });

  it('log time never moves backwards, so a leader with a slow clock cannot extend or shorten sessions', () => {
    const log = new Log(new KvStateMachine({ sessionTtl: 10 }));
    log.apply({ type: 'expire-sessions', now: 100 });
    log.apply({ type: 'put', key: 'a', value: '1', session: s('c1', 1) });
    log.apply({ type: 'expire-sessions', now: 5 });
    expect(log.kv.logTime).toBe(100);
    expect(log.apply({ type: 'expire-sessions', now: 111 })).toMatchObject({ expired: ['c1'] });
  });

  it('never consults the local clock: replicas applying the same log at different times agree', () => {
    const bytes = [
      encodeKvCommand({ type: 'put', key: 'a', value: '1', session: s('c1', 1) }),
      encodeKvCommand({ type: 'expire-sessions', now: 10 }),
      encodeKvCommand({ type: 'put', key: 'a', value: '2', session: s('c1', 2) }),
    ];
    const a = new KvStateMachine({ sessionTtl: 5 });
    const b = new KvStateMachine({ sessionTtl: 5 });
    const ra = bytes.map((c, i) => a.apply(c, { index: i + 1, term: 1 }));
    const rb = bytes.map((c, i) => b.apply(c, { index: i + 1, term: 1 }));
    expect(rb).toEqual(ra);
    expect(ra[2]).toMatchObject({ type: 'session-expired' });
  });
});

describe('session table bound', () => {
  it('evicts the session with the oldest last-applied index when full', () => {
    const log = new Log(new KvStateMachine({ maxSessions: 2 }));
    log.apply({ type: 'put', key: 'a', value: '1', session: s('c1', 1) });
    log.apply({ type: 'put', key: 'a', value: '2', session: s('c2', 1) });
    log.apply({ type: 'put', key: 'a', value: '3', session: s('c1', 2) }); // c1 now more recent than c2
    log.apply({ type: 'put', key: 'a', value: '4', session: s('c3', 1) }); // evicts c2
    expect(log.kv.sessionCount).toBe(2);
    expect(log.apply({ type: 'put', key: 'a', value: 'x', session: s('c2', 2) })).toMatchObject({
      type: 'session-expired',
    });
    expect(log.apply({ type: 'put', key: 'a', value: '3', session: s('c1', 2) })).toMatchObject({
      type: 'put',
      kv: { value: '3' },
    });
  });
});
