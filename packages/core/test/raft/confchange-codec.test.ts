import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CONF_CHANGE_VERSION, decodeConfChange, encodeConfChange } from '../../src/raft/confchange/conf-change-codec.js';
import { ConfChangeDecodeError } from '../../src/raft/confchange/conf-change-errors.js';
import type { ConfChange } from '../../src/raft/confchange/conf-change.js';

const id = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => new TextDecoder().decode(new TextEncoder().encode(s)) === s);
const ids = fc.array(id, { maxLength: 6 });
const confChange: fc.Arbitrary<ConfChange> = fc.record({
  changes: fc.array(
    fc.record({ type: fc.constantFrom('add-voter', 'add-learner', 'promote', 'remove' as const), node: id }),
    { maxLength: 5 },
  ),
  transition: fc.constantFrom('auto', 'simple', 'implicit', 'explicit-joint' as const),
  result: fc.record({ voters: ids, learners: ids, votersOutgoing: ids, autoLeave: fc.boolean() }),
});

describe('conf-change codec', () => {
  it('round-trips every conf change', () => {
    fc.assert(
      fc.property(confChange, (cc) => {
        expect(decodeConfChange(encodeConfChange(cc))).toEqual(cc);
      }),
    );
  });

  it('starts with the version byte', () => {
    const bytes = encodeConfChange({
      changes: [{ type: 'add-voter', node: 'n4' }],
      transition: 'auto',
      result: { voters: ['n1', 'n4'], learners: [], votersOutgoing: [], autoLeave: false },
    });
    expect(bytes[0]).toBe(CONF_CHANGE_VERSION);
  });

  it('rejects truncated, extended, unknown-version and garbage input with ConfChangeDecodeError, never anything else', () => {
    const good = encodeConfChange({
      changes: [{ type: 'remove', node: 'n2' }],
      transition: 'simple',
      result: { voters: ['n1'], learners: [], votersOutgoing: [], autoLeave: false },
    });
    const bad = [good.subarray(0, good.length - 1), Uint8Array.from([...good, 0]), Uint8Array.from([9, ...good.subarray(1)]), new Uint8Array(0)];
    for (const bytes of bad) expect(() => decodeConfChange(bytes)).toThrow(ConfChangeDecodeError);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeConfChange(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfChangeDecodeError);
        }
      }),
    );
  });
});
