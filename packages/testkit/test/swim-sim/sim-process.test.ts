import { VirtualClock } from '@synod/core';
import { describe, expect, it } from 'vitest';
import { SimProcess } from '../../src/swim-sim/index.js';

describe('SimProcess', () => {
  it('runs timers and messages at once while healthy', () => {
    const clock = new VirtualClock();
    const process = new SimProcess('p', clock);
    const log: string[] = [];
    process.setTimeout(() => log.push(`timer@${clock.now()}`), 10);
    process.deliver(() => log.push(`msg@${clock.now()}`));
    clock.advance(20);
    expect(log).toEqual(['msg@0', 'timer@10']);
  });

  it('holds timers and messages during a stall and runs timers first when it ends, like an event loop after a pause', () => {
    const clock = new VirtualClock();
    const process = new SimProcess('p', clock);
    const log: string[] = [];
    process.stall(1_000);
    clock.setTimeout(() => process.deliver(() => log.push(`msg@${clock.now()}`)), 100);
    process.setTimeout(() => log.push(`timer@${clock.now()}`), 500);
    clock.advance(999);
    expect(log).toEqual([]);
    expect(process.stalled).toBe(true);
    clock.advance(1);
    expect(log).toEqual(['timer@1000', 'msg@1000']);
    expect(process.stalled).toBe(false);
    expect(process.stalledMs).toBe(1_000);
  });

  it('does not run a held timer that was cleared, and extends a stall that is already running', () => {
    const clock = new VirtualClock();
    const process = new SimProcess('p', clock);
    let fired = 0;
    process.stall(100);
    const handle = process.setTimeout(() => fired++, 50);
    clock.advance(60);
    process.clearTimeout(handle);
    process.stall(200);
    clock.advance(100);
    expect(process.stalled).toBe(true);
    clock.advance(200);
    expect(fired).toBe(0);
    expect(process.stalls).toBe(1);
  });

  it('handles messages late by the inbound lag, in arrival order even when the lag shrinks, while timers stay on time', () => {
    const clock = new VirtualClock();
    const process = new SimProcess('p', clock);
    const log: string[] = [];
    process.inboundLagMs = 300;
    process.deliver(() => log.push(`a@${clock.now()}`));
    process.inboundLagMs = 0;
    process.deliver(() => log.push(`b@${clock.now()}`));
    process.setTimeout(() => log.push(`timer@${clock.now()}`), 100);
    clock.advance(400);
    expect(log).toEqual(['timer@100', 'a@300', 'b@300']);
  });
});
