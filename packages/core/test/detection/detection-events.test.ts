import { describe, expect, it, vi } from 'vitest';
import { Emitter } from '../../src/detection/detection-events.js';

describe('Emitter', () => {
  it('delivers in subscription order and unsubscribes', () => {
    const emitter = new Emitter<{ x: number }>();
    const seen: string[] = [];
    const off = emitter.on('x', (v) => seen.push(`1:${v}`));
    emitter.on('x', (v) => seen.push(`2:${v}`));
    emitter.emit('x', 1);
    off();
    off();
    emitter.emit('x', 2);
    expect(seen).toEqual(['1:1', '2:1', '2:2']);
    expect(emitter.listenerCount('x')).toBe(1);
  });

  it('keeps going when a listener throws, and rethrows asynchronously', async () => {
    const emitter = new Emitter<{ x: number }>();
    const seen: number[] = [];
    emitter.on('x', () => {
      throw new Error('boom');
    });
    emitter.on('x', (v) => seen.push(v));
    const spy = vi.fn();
    const original = globalThis.queueMicrotask;
    globalThis.queueMicrotask = spy;
    try {
      emitter.emit('x', 7);
    } finally {
      globalThis.queueMicrotask = original;
    }
    expect(seen).toEqual([7]);
    expect(spy).toHaveBeenCalledTimes(1);
  });
});
