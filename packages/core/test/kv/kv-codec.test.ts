import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CorruptionError,
  InvalidArgumentError,
  KV_COMMAND_FORMAT_VERSION,
  KvStateMachine,
  decodeKvCommand,
  decodeKvResult,
  encodeKvCommand,
  encodeKvResult,
  kvCommandCodec,
  type KvCommand,
} from '../../src/index.js';
import { anyCommand, log } from './arbitraries.js';

function decodeError(bytes: Uint8Array): unknown {
  try {
    decodeKvCommand(bytes);
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('KV command codec', () => {
  it('round-trips every command (property)', () => {
    fc.assert(
      fc.property(anyCommand, (command) => {
        expect(decodeKvCommand(encodeKvCommand(command))).toEqual(command);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips one example of each command kind through the CommandCodec', () => {
    const commands: KvCommand[] = [
      { type: 'put', key: 'k', value: 'v', session: { clientId: 'c', sequence: 1 } },
      { type: 'delete', key: 'k' },
      { type: 'cas', key: 'k', expected: { kind: 'absent' }, value: 'v' },
      { type: 'cas', key: 'k', expected: { kind: 'value', value: 'old' }, value: 'v' },
      { type: 'cas', key: 'k', expected: { kind: 'mod-revision', modRevision: 2 ** 53 - 1 }, value: '' },
      { type: 'get', key: '😀', session: { clientId: '', sequence: Number.MAX_SAFE_INTEGER } },
      { type: 'expire-sessions', now: 0 },
    ];
    for (const command of commands) expect(kvCommandCodec.decode(kvCommandCodec.encode(command))).toEqual(command);
  });

  it('starts with the format version byte and stays compact', () => {
    const bytes = encodeKvCommand({ type: 'put', key: 'a', value: '1' });
    expect(bytes[0]).toBe(KV_COMMAND_FORMAT_VERSION);
    expect(bytes.length).toBe(7);
  });

  it('decodes arbitrary bytes to a command or a CorruptionError, never anything else; accepted bytes are canonical', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        let command: KvCommand;
        try {
          command = decodeKvCommand(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(CorruptionError);
          return;
        }
        expect(encodeKvCommand(command)).toEqual(bytes);
      }),
      { numRuns: 5000 },
    );
  });

  it('rejects damaged encodings of valid commands with CorruptionError (truncation, extension, bit flips)', () => {
    fc.assert(
      fc.property(anyCommand, fc.nat(), fc.integer({ min: 0, max: 7 }), (command, at, bit) => {
        const bytes = encodeKvCommand(command);
        for (let cut = 0; cut < bytes.length; cut++) {
          expect(decodeError(bytes.subarray(0, cut))).toBeInstanceOf(CorruptionError);
        }
        expect(decodeError(Uint8Array.of(...bytes, 0))).toBeInstanceOf(CorruptionError);
        const flipped = bytes.slice();
        flipped[at % bytes.length] ^= 1 << bit;
        const err = decodeError(flipped);
        // A flip may land on another valid command (say, in a value); it must
        // never produce anything but a command or a CorruptionError.
        if (err !== undefined) expect(err).toBeInstanceOf(CorruptionError);
      }),
    );
  });

  it('rejects specific garbage with CorruptionError', () => {
    const cases: number[][] = [
      [],
      [2, 1, 0, 0, 0], // unknown version
      [1, 99, 0, 0], // unknown op
      [1, 1, 0x80, 1, 0x61, 0], // unknown flag bit
      [1, 5, 1, 1, 0x61, 1, 0], // expire-sessions with a session
      [1, 1, 1, 1, 0x61, 0, 1, 0x61, 0], // session sequence 0
      [1, 2, 0, 2, 0xc3, 0x28], // invalid UTF-8
      [1, 2, 0, 0x81, 0x00], // non-minimal varint
      [1, 5, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // varint too long
      [1, 5, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10], // 2^53: not a safe integer
      [1, 3, 0, 1, 0x61, 7, 0], // unknown CAS condition
      [1, 2, 0, 0x7f, 0x61], // string longer than input
    ];
    for (const bytes of cases) expect(decodeError(Uint8Array.from(bytes)), `case ${bytes.join(',')}`).toBeInstanceOf(CorruptionError);
    expect(decodeError('nope' as unknown as Uint8Array)).toBeInstanceOf(CorruptionError);
  });

  it('refuses to encode commands that have no encoding, with InvalidArgumentError', () => {
    const bad: unknown[] = [
      { type: 'put', key: '\uD800', value: 'lone surrogate' },
      { type: 'put', key: 'k', value: 'v', session: { clientId: 'c', sequence: 0 } },
      { type: 'put', key: 'k', value: 'v', session: { clientId: 'c', sequence: 1.5 } },
      { type: 'expire-sessions', now: -1 },
      { type: 'expire-sessions', now: 2 ** 53 },
      { type: 'cas', key: 'k', expected: { kind: 'mod-revision', modRevision: -3 }, value: 'v' },
      { type: 'cas', key: 'k', expected: { kind: 'maybe' }, value: 'v' },
      { type: 'frobnicate' },
    ];
    for (const command of bad) expect(() => encodeKvCommand(command as KvCommand)).toThrow(InvalidArgumentError);
  });
});

describe('KV result codec', () => {
  it('round-trips every result the state machine produces (property)', () => {
    fc.assert(
      fc.property(log, (items) => {
        const kv = new KvStateMachine({ sessionTtl: 50 });
        items.forEach((item, i) => {
          const bytes = 'raw' in item ? item.raw : encodeKvCommand(item.command);
          const result = kv.apply(bytes, { index: i + 1, term: 1 });
          expect(decodeKvResult(encodeKvResult(result))).toEqual(result);
        });
      }),
    );
  });

  it('rejects garbage with CorruptionError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 32 }), (bytes) => {
        try {
          decodeKvResult(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(CorruptionError);
        }
      }),
    );
  });
});
