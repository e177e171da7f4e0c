import { describe, expect, it } from 'vitest';
import { AbortError, TimeoutError } from '../../src/errors/errors.js';
import { PendingCall } from '../../src/raft/pending-call.js';
import { Deadlines } from '../../src/time/deadlines.js';
import { VirtualClock } from '../../src/time/index.js';

function setup(): { clock: VirtualClock; deadlines: Deadlines } {
  const clock = new VirtualClock();
  return { clock, deadlines: new Deadlines(clock) };
}

describe('PendingCall', () => {
  it('settles once: the first answer wins, its deadline and registration go', async () => {
    const { clock, deadlines } = setup();
    const registry = new Map<number, PendingCall<string>>();
    const call = new PendingCall<string>(7, deadlines, 100, undefined, undefined);
    call.registerIn(registry);
    let forgotten = 0;
    call.forget = () => forgotten++;
    expect(registry.get(7)).toBe(call);
    call.resolve('first');
    call.reject(new Error('late'));
    call.resolve('later');
    await expect(call.promise).resolves.toBe('first');
    expect(registry.size).toBe(0);
    expect(forgotten).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects with TimeoutError at its deadline, or the more telling error it was given', async () => {
    const { clock, deadlines } = setup();
    const plain = new PendingCall<void>(1, deadlines, 50, undefined, undefined);
    const telling = new PendingCall<void>(2, deadlines, 50, undefined, () => new RangeError('lagging'));
    clock.advance(49);
    plain.resolve(); // in time
    clock.advance(1);
    await expect(plain.promise).resolves.toBeUndefined();
    await expect(telling.promise).rejects.toBeInstanceOf(RangeError);
    const late = new PendingCall<void>(3, deadlines, 10, undefined, undefined);
    clock.advance(10);
    await expect(late.promise).rejects.toBeInstanceOf(TimeoutError);
  });

  it('rejects with AbortError when its signal aborts, and stops listening once settled', async () => {
    const { deadlines } = setup();
    const controller = new AbortController();
    const aborted = new PendingCall<number>(1, deadlines, 1000, controller.signal, undefined);
    controller.abort(new Error('user'));
    await expect(aborted.promise).rejects.toBeInstanceOf(AbortError);

    const other = new AbortController();
    const answered = new PendingCall<number>(2, deadlines, 1000, other.signal, undefined);
    answered.resolve(5);
    other.abort();
    await expect(answered.promise).resolves.toBe(5);
  });
});
