import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/time/random.js';
import { TimerHeap } from '../../src/detection/timer-heap.js';

describe('TimerHeap', () => {
  it('fires due timers in (due, creation) order, including ones scheduled while firing', () => {
    const heap = new TimerHeap();
    const fired: string[] = [];
    heap.schedule(20, () => fired.push('b@20'));
    heap.schedule(10, (now) => {
      fired.push(`a@10 (now ${now})`);
      heap.schedule(15, () => fired.push('c@15'));
    });
    heap.schedule(20, () => fired.push('d@20'));
    heap.runDue(20);
    expect(fired).toEqual(['a@10 (now 20)', 'c@15', 'b@20', 'd@20']);
    expect(heap.nextDueMs()).toBeUndefined();
  });

  it('skips cancelled timers and reports the next live deadline', () => {
    const heap = new TimerHeap();
    const fired: number[] = [];
    const t1 = heap.schedule(5, () => fired.push(5));
    heap.schedule(9, () => fired.push(9));
    heap.cancel(t1);
    expect(heap.nextDueMs()).toBe(9);
    heap.runDue(8);
    expect(fired).toEqual([]);
    heap.runDue(9);
    expect(fired).toEqual([9]);
  });

  it('orders many random timers', () => {
    const heap = new TimerHeap();
    const random = new SeededRandom(5);
    const fired: number[] = [];
    for (let i = 0; i < 500; i++) {
      const due = random.int(1000);
      heap.schedule(due, () => fired.push(due));
    }
    heap.runDue(1000);
    expect(fired).toEqual([...fired].sort((a, b) => a - b));
    expect(fired).toHaveLength(500);
  });
});
