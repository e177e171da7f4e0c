import { describe, expect, it } from 'vitest';
import { estimateEnvelopeSize } from '../src/index.js';
import { envelope } from './support/harness.js';

describe('estimateEnvelopeSize', () => {
  it('counts byte arrays by length plus a small header', () => {
    const small = estimateEnvelopeSize(envelope('a', 'b', new Uint8Array(0)));
    const big = estimateEnvelopeSize(envelope('a', 'b', new Uint8Array(1000)));
    expect(big - small).toBe(1000);
    expect(small).toBeGreaterThan(0);
    expect(small).toBeLessThan(64);
  });

  it('counts strings by UTF-8 length', () => {
    const ascii = estimateEnvelopeSize(envelope('a', 'b', 'aaaa'));
    const accented = estimateEnvelopeSize(envelope('a', 'b', 'éééé'));
    const emoji = estimateEnvelopeSize(envelope('a', 'b', '😀'));
    expect(accented - ascii).toBe(4);
    expect(emoji).toBe(ascii);
  });

  it('walks nested objects, arrays, maps and sets', () => {
    const flat = estimateEnvelopeSize(envelope('a', 'b', { entries: [] }));
    const nested = estimateEnvelopeSize(
      envelope('a', 'b', { entries: [{ term: 1n, data: new Uint8Array(100) }], meta: new Map([['k', new Set([1, 2])]]) }),
    );
    expect(nested - flat).toBeGreaterThan(100);
  });

  it('stays finite on cyclic payloads', () => {
    const cyclic: { self?: unknown; n: number } = { n: 1 };
    cyclic.self = cyclic;
    expect(Number.isFinite(estimateEnvelopeSize(envelope('a', 'b', cyclic)))).toBe(true);
  });

  it('counts only own fields, also when Object.prototype has enumerable ones', () => {
    const plain = estimateEnvelopeSize(envelope('a', 'b', { term: 1, data: new Uint8Array(10) }));
    class Message {
      constructor(
        readonly term: number,
        readonly data: Uint8Array,
      ) {}
    }
    const inherited = Object.assign(Object.create({ extra: 'not mine' }) as object, { term: 1, data: new Uint8Array(10) });
    expect(estimateEnvelopeSize(envelope('a', 'b', new Message(1, new Uint8Array(10))))).toBe(plain);
    expect(estimateEnvelopeSize(envelope('a', 'b', inherited))).toBe(plain);
    const prototype = Object.prototype as Record<string, unknown>;
    prototype.polluted = 'x'.repeat(100);
    try {
      expect(estimateEnvelopeSize(envelope('a', 'b', { term: 1, data: new Uint8Array(10) }))).toBe(plain);
    } finally {
      delete prototype.polluted;
    }
  });
});
