import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { callTimeoutMs, callWait } from '../../src/server/call-wait.js';

/** A stand-in for a grpc-js server call: grpc-js emits 'cancelled' when any call's stream closes. */
function fakeCall(deadline: Date | number = Infinity): EventEmitter & { getDeadline(): Date | number } {
  return Object.assign(new EventEmitter(), { getDeadline: () => deadline });
}

describe('callWait', () => {
  it('aborts the signal when the client cancels before the answer', () => {
    const call = fakeCall();
    const wait = callWait(call, 5_000);
    call.emit('cancelled');
    expect(wait.signal.aborted).toBe(true);
  });

  it('leaves the signal alone when the stream closes after the answer', () => {
    const call = fakeCall();
    const wait = callWait(call, 5_000);
    wait.release();
    call.emit('cancelled');
    expect(wait.signal.aborted).toBe(false);
    expect(call.listenerCount('cancelled')).toBe(0);
  });

  it('waits until the deadline, capped by the default, and at least 1 ms', () => {
    expect(callWait(fakeCall(), 5_000).timeoutMs).toBe(5_000);
    expect(callWait(fakeCall(new Date(Date.now() + 60_000)), 5_000).timeoutMs).toBe(5_000);
    expect(callWait(fakeCall(new Date(Date.now() + 1_000)), 5_000).timeoutMs).toBeLessThanOrEqual(1_000);
    expect(callWait(fakeCall(Date.now() - 10), 5_000).timeoutMs).toBe(1);
  });

  it('callTimeoutMs gives a call without a signal (a get) the same wait, with no listener on the call', () => {
    const call = fakeCall(new Date(Date.now() + 1_000));
    expect(callTimeoutMs(call, 5_000)).toBeLessThanOrEqual(1_000);
    expect(callTimeoutMs(call, 5_000)).toBeGreaterThan(900);
    expect(callTimeoutMs(fakeCall(), 5_000)).toBe(5_000);
    expect(callTimeoutMs(fakeCall(Date.now() - 10), 5_000)).toBe(1);
    expect(call.listenerCount('cancelled')).toBe(0);
  });
});
