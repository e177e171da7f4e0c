import { describe, expect, it } from 'vitest';
import { SlotLog } from '../../src/paxos/slot-log.js';

describe('SlotLog', () => {
  it('holds values by slot, with holes where nothing was set', () => {
    const log = new SlotLog<string>();
    log.set(1, 'a');
    log.set(3, 'c');
    expect([log.get(1), log.get(2), log.get(3), log.get(4)]).toEqual(['a', undefined, 'c', undefined]);
    log.set(2, 'b');
    log.set(3, 'C');
    expect([log.get(2), log.get(3)]).toEqual(['b', 'C']);
  });

  it('forgets slots through a compaction point and refuses writes below it', () => {
    const log = new SlotLog<number>();
    for (let slot = 1; slot <= 10; slot++) log.set(slot, slot * 10);
    log.deleteThrough(4);
    expect(log.get(4)).toBeUndefined();
    expect(log.get(5)).toBe(50);
    expect(() => log.set(3, 0)).toThrow(RangeError);
    log.set(11, 110);
    expect(log.get(11)).toBe(110);
  });

  it('restarts past the end when a snapshot jumps beyond every held slot', () => {
    const log = new SlotLog<number>();
    log.set(1, 1);
    log.deleteThrough(1_000_000);
    expect(log.get(1)).toBeUndefined();
    expect(() => log.set(1_000_000, 0)).toThrow(RangeError);
    log.set(1_000_001, 7);
    expect(log.get(1_000_001)).toBe(7);
  });

  it('keeps every live slot across the compaction of a long dead prefix', () => {
    const log = new SlotLog<number>();
    let deleted = 0;
    for (let slot = 1; slot <= 50_000; slot++) {
      log.set(slot, slot);
      if (slot % 1000 === 0) {
        deleted = slot - 500;
        log.deleteThrough(deleted);
      }
    }
    for (let slot = deleted - 3; slot <= 50_000; slot++) expect(log.get(slot)).toBe(slot > deleted ? slot : undefined);
  });

  it('keeps slots in place while its window wraps around the ring and grows', () => {
    const log = new SlotLog<number>();
    for (let slot = 1; slot <= 10; slot++) log.set(slot, slot);
    log.deleteThrough(8);
    // Slots 9..40 wrap past the end of the first ring and make it grow.
    for (let slot = 11; slot <= 40; slot++) log.set(slot, slot);
    log.set(45, 45); // a hole at 41..44
    expect(log.get(8)).toBeUndefined();
    for (let slot = 9; slot <= 40; slot++) expect(log.get(slot)).toBe(slot);
    expect([log.get(41), log.get(44), log.get(45), log.get(46)]).toEqual([undefined, undefined, 45, undefined]);
    log.deleteThrough(45);
    log.set(46, 46);
    expect([log.get(45), log.get(46)]).toEqual([undefined, 46]);
  });
});
