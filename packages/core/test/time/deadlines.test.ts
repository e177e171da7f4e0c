import { describe, expect, it } from 'vitest';
import { Deadlines } from '../../src/time/deadlines.js';
import { VirtualClock, type Clock } from '../../src/time/index.js';

/** A clock whose time can be fractional, like performance.now(). */
function fractionalClock(start: number): { clock: Clock; virtual: VirtualClock } {
  const virtual = new VirtualClock();
  const clock: Clock = {
    now: () => start + virtual.now(),
    setTimeout: (callback, delayMs) => virtual.setTimeout(callback, delayMs),
    clearTimeout: (handle) => virtual.clearTimeout(handle),
  };
  return { clock, virtual };
}

describe('Deadlines', () => {
  it('fires each timeout exactly on time on a whole-millisecond clock', () => {
    const clock = new VirtualClock();
    const deadlines = new Deadlines(clock);
    const fired: [string, number][] = [];
    deadlines.add(10, () => fired.push(['a', clock.now()]));
    deadlines.add(10, () => fired.push(['b', clock.now()]));
    deadlines.add(25, () => fired.push(['c', clock.now()]));
    clock.advance(9);
    expect(fired).toEqual([]);
    clock.advance(30);
    expect(fired).toEqual([
      ['a', 10],
      ['b', 10],
      ['c', 25],
    ]);
  });

  it('shares one clock timer among timeouts due in the same millisecond', () => {
    const { clock, virtual } = fractionalClock(0.25);
    const deadlines = new Deadlines(clock);
    const fired: number[] = [];
    deadlines.add(10, () => fired.push(1));
    virtual.advance(0.5);
    deadlines.add(10, () => fired.push(2));
    expect(virtual.pendingTimers).toBe(1);
    // Due at 10.25 and 10.75, both rounded up to 11: never early, at most 1 ms late.
    virtual.advance(10.2);
    expect(fired).toEqual([]);
    virtual.advance(0.1);
    expect(fired).toEqual([1, 2]);
  });

  it('does not fire cancelled timeouts and drops the timer once none is left', () => {
    const clock = new VirtualClock();
    const deadlines = new Deadlines(clock);
    const fired: string[] = [];
    const a = deadlines.add(5, () => fired.push('a'));
    const b = deadlines.add(5, () => fired.push('b'));
    deadlines.cancel(a);
    deadlines.cancel(a);
    clock.advance(5);
    expect(fired).toEqual(['b']);
    deadlines.cancel(b); // after firing: nothing happens
    const c = deadlines.add(5, () => fired.push('c'));
    deadlines.cancel(c);
    expect(clock.pendingTimers).toBe(0);
    const d = deadlines.add(5, () => fired.push('d'));
    deadlines.clear();
    deadlines.cancel(d);
    clock.advance(10);
    expect(fired).toEqual(['b']);
  });

  it('fires every timeout of a millisecond even when one callback throws', () => {
    const clock = new VirtualClock();
    const deadlines = new Deadlines(clock);
    const fired: string[] = [];
    deadlines.add(5, () => {
      throw new Error('boom');
    });
    deadlines.add(5, () => fired.push('b'));
    expect(() => clock.advance(5)).toThrow('boom');
    expect(fired).toEqual(['b']);
  });

  it('gives a timeout set while its millisecond fires a timer of its own', () => {
    const clock = new VirtualClock();
    const deadlines = new Deadlines(clock);
    const fired: number[] = [];
    deadlines.add(5, () => deadlines.add(0, () => fired.push(clock.now())));
    clock.advance(5);
    expect(fired).toEqual([5]);
  });

  it('schedules and unschedules an existing object without a deadline of its own', () => {
    const clock = new VirtualClock();
    const deadlines = new Deadlines(clock);
    const fired: string[] = [];
    const target = (name: string) => ({ deadlineAt: 0, deadlinePosition: 0, onExpire: () => fired.push(name) });
    const a = target('a');
    const b = target('b');
    deadlines.schedule(5, b);
    deadlines.schedule(5, a);
    deadlines.unschedule(a);
    deadlines.unschedule(a);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(5);
    expect(fired).toEqual(['b']);
    // After firing, a new timeout may be due in the same millisecond: the
    // late unschedule of the fired one must leave it alone.
    const c = target('c');
    deadlines.schedule(0, c);
    deadlines.unschedule(b);
    clock.advance(1);
    expect(fired).toEqual(['b', 'c']);
    deadlines.schedule(3, a);
    deadlines.unschedule(a);
    expect(clock.pendingTimers).toBe(0);
  });
});
