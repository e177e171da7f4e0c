import { describe, expect, it } from 'vitest';
import { HeartbeatDetector } from '../../src/detection/heartbeat-detector.js';
import type { AvailabilityChange, FailureDetector } from '../../src/detection/failure-detector.js';

describe('HeartbeatDetector', () => {
  it('is available until the timeout elapses since the last heartbeat', () => {
    const detector = new HeartbeatDetector({ timeoutMs: 1500 });
    detector.heartbeat('n2', 0);
    expect(detector.isAvailable('n2', 1499)).toBe(true);
    expect(detector.isAvailable('n2', 1500)).toBe(false);
    detector.heartbeat('n2', 2000);
    expect(detector.isAvailable('n2', 3000)).toBe(true);
  });

  it('treats an unmonitored peer as available', () => {
    expect(new HeartbeatDetector({ timeoutMs: 10 }).isAvailable('x', 1e9)).toBe(true);
  });

  it('emits transitions once each, through the FailureDetector contract', () => {
    const detector: FailureDetector = new HeartbeatDetector({ timeoutMs: 100 });
    const changes: AvailabilityChange[] = [];
    const off = detector.onChange((c) => changes.push(c));
    detector.heartbeat('a', 0);
    detector.heartbeat('b', 50);
    detector.check(120);
    detector.check(130);
    detector.heartbeat('a', 140);
    detector.check(200);
    off();
    detector.check(1000);
    expect(changes).toEqual([
      { peer: 'a', available: false, atMs: 120 },
      { peer: 'a', available: true, atMs: 140 },
      { peer: 'b', available: false, atMs: 200 },
    ]);
  });

  it('ignores an out-of-order older heartbeat', () => {
    const detector = new HeartbeatDetector({ timeoutMs: 100 });
    detector.heartbeat('a', 500);
    detector.heartbeat('a', 400);
    expect(detector.lastHeartbeat('a')).toBe(500);
  });

  it('rejects a non-positive timeout', () => {
    expect(() => new HeartbeatDetector({ timeoutMs: 0 })).toThrow(/timeoutMs/);
  });
});
