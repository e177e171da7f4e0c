import { InvalidArgumentError, NotLeaderError } from '@synod/core';
import { describe, expect, it } from 'vitest';
import { backoffDelay, decodeRpcStatus, isRetryable, serviceFailure, SessionPool, SynodRpcError } from '../src/index.js';

describe('the transport-neutral service pieces', () => {
  it('maps typed errors to status codes with the leader hint only where a retry on the leader helps, and hides unexpected ones', () => {
    const leader = { leaderId: 'n2', leaderEndpoint: '127.0.0.1:7002' };
    expect(serviceFailure(new InvalidArgumentError('bad key'), leader)).toEqual({
      code: 3,
      reason: 'INVALID_ARGUMENT',
      message: 'bad key',
      leaderId: undefined,
      leaderEndpoint: undefined,
    });
    const notLeader = serviceFailure(new NotLeaderError('n2'), leader);
    expect(notLeader).toMatchObject({ code: 14, reason: 'NOT_LEADER', leaderId: 'n2', leaderEndpoint: '127.0.0.1:7002' });
    const internal = serviceFailure(new Error('secret detail'), leader);
    expect(internal).toMatchObject({ code: 13, reason: 'INTERNAL' });
    expect(internal.message).not.toContain('secret');
  });

  it('retries only what may succeed elsewhere or later', () => {
    expect(isRetryable({ grpcCode: 14, reason: 'NOT_LEADER' })).toBe(true);
    expect(isRetryable({ grpcCode: 4, reason: 'NATS_TIMEOUT' })).toBe(true);
    expect(isRetryable({ grpcCode: 8, reason: 'BUSY' })).toBe(true);
    expect(isRetryable({ grpcCode: 8, reason: 'MESSAGE_TOO_LARGE' })).toBe(false);
    expect(isRetryable({ grpcCode: 16, reason: 'NATS_AUTHORIZATION' })).toBe(false);
  });

  it('keeps a session after a success or a definite refusal, and retires it after an unknown outcome', async () => {
    const pool = new SessionPool('c');
    const seen: string[] = [];
    const write = (fail?: Error) => pool.run(async (session) => {
      seen.push(`${session.clientId}#${session.sequence}`);
      if (fail !== undefined) throw fail;
    });
    await write();
    await write();
    await write(new SynodRpcError(3, 'INVALID_ARGUMENT', 'no')).catch(() => undefined);
    await write(new SynodRpcError(14, 'NATS_TIMEOUT', 'lost')).catch(() => undefined);
    await write();
    expect(seen).toEqual(['c/0#1', 'c/0#2', 'c/0#3', 'c/0#4', 'c/1#1']);
  });

  it('starts a fresh session instead of one idle long enough for the store to expire it', async () => {
    let now = 0;
    const pool = new SessionPool('c', { maxIdleMs: 30_000, now: () => now });
    const seen: string[] = [];
    const write = () => pool.run(async (session) => void seen.push(`${session.clientId}#${session.sequence}`));
    await write();
    now += 30_000;
    await write(); // idle exactly maxIdleMs: still used
    now += 30_001;
    await write(); // idle longer: the store may have forgotten it (sequence 3 would be refused as expired)
    expect(seen).toEqual(['c/0#1', 'c/0#2', 'c/1#1']);
    expect(() => new SessionPool('c', { maxIdleMs: 0 })).toThrow(RangeError);
  });

  it('backs off with full jitter under a cap', () => {
    expect(backoffDelay(0, 50, 1000, () => 0.5)).toBe(25);
    expect(backoffDelay(10, 50, 1000, () => 0.999)).toBeLessThan(1000);
    expect(decodeRpcStatus(new Uint8Array([0xff]))).toBeUndefined();
  });
});
