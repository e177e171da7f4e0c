import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors/errors.js';
import { CONF_CHANGE_VERSION, decodeConfChange, encodeConfChange } from '../../src/raft/confchange/conf-change-codec.js';
import { ConfChangeDecodeError } from '../../src/raft/confchange/conf-change-errors.js';
import { MAX_CONF_CHANGE_CONTEXT_BYTES, type ConfChange } from '../../src/raft/confchange/conf-change.js';

const id = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => new TextDecoder().decode(new TextEncoder().encode(s)) === s);
const ids = fc.array(id, { maxLength: 6 });
const confChange: fc.Arbitrary<ConfChange> = fc.record({
  changes: fc.array(
    fc.record(
      { type: fc.constantFrom('add-voter', 'add-learner', 'promote', 'remove' as const), node: id, context: fc.uint8Array({ minLength: 1, maxLength: 40 }) },
      { requiredKeys: ['type', 'node'] },
    ),
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

  it('starts with the version byte: 1 without contexts (what earlier releases wrote, byte for byte), 2 with', () => {
    const plain: ConfChange = {
      changes: [{ type: 'add-voter', node: 'n4' }],
      transition: 'auto',
      result: { voters: ['n1', 'n4'], learners: [], votersOutgoing: [], autoLeave: false },
    };
    const v1 = encodeConfChange(plain);
    expect(v1[0]).toBe(1);
    expect([...v1]).toEqual([1, 0, 0, 1, 0, 0, 2, 0x6e, 0x34, 0, 2, 0, 2, 0x6e, 0x31, 0, 2, 0x6e, 0x34, 0, 0, 0, 0, 0]);
    const address = new TextEncoder().encode('10.0.0.4:7000');
    const v2 = encodeConfChange({ ...plain, changes: [{ type: 'add-voter', node: 'n4', context: address }] });
    expect(v2[0]).toBe(CONF_CHANGE_VERSION);
    expect(decodeConfChange(v2).changes[0]!.context).toEqual(address);
  });

  it('refuses a context above the limit, both ways', () => {
    const big: ConfChange = {
      changes: [{ type: 'add-learner', node: 'n4', context: new Uint8Array(MAX_CONF_CHANGE_CONTEXT_BYTES + 1) }],
      transition: 'auto',
      result: { voters: ['n1'], learners: ['n4'], votersOutgoing: [], autoLeave: false },
    };
    expect(() => encodeConfChange(big)).toThrow(InvalidArgumentError);
    const ok = encodeConfChange({ ...big, changes: [{ type: 'add-learner', node: 'n4', context: new Uint8Array(1) }] });
    // Patch the encoded context length (after version, transition, count, type and the node id 'n4') past the limit.
    const patched = Uint8Array.from(ok);
    patched[9] = 0xff;
    patched[10] = 0xff;
    expect(() => decodeConfChange(patched)).toThrow(ConfChangeDecodeError);
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
