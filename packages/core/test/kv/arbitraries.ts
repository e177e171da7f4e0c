import fc from 'fast-check';
import type { ApplyContext, KvCasCondition, KvCommand, KvSession } from '../../src/index.js';

/** Shared fast-check generators for the KV tests. */

/** Any well-formed string, including astral characters and U+FEFF. */
export const anyString = fc.string({ unit: 'binary', maxLength: 24 });

/** Keys from a small pool (so commands collide) plus the odd arbitrary one. */
export const poolKey = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('a', 'b', 'ab', 'dir/1', 'dir/2', 'é', '😀') },
  { weight: 1, arbitrary: anyString },
);

const smallValue = fc.string({ unit: 'binary', maxLength: 6 });

export const session = (clientIds: fc.Arbitrary<string>, sequences: fc.Arbitrary<number>): fc.Arbitrary<KvSession> =>
  fc.record({ clientId: clientIds, sequence: sequences });

export function condition(key: fc.Arbitrary<string>, revision: fc.Arbitrary<number>): fc.Arbitrary<KvCasCondition> {
  return fc.oneof(
    fc.constant<KvCasCondition>({ kind: 'absent' }),
    key.map<KvCasCondition>((value) => ({ kind: 'value', value })),
    revision.map<KvCasCondition>((modRevision) => ({ kind: 'mod-revision', modRevision })),
  );
}

interface CommandShape {
  readonly key: fc.Arbitrary<string>;
  readonly value: fc.Arbitrary<string>;
  readonly revision: fc.Arbitrary<number>;
  readonly now: fc.Arbitrary<number>;
  readonly session: fc.Arbitrary<KvSession | undefined>;
}

function commandFrom(shape: CommandShape): fc.Arbitrary<KvCommand> {
  const withSession = <T extends object>(arb: fc.Arbitrary<T>): fc.Arbitrary<T & { session?: KvSession }> =>
    fc.tuple(arb, shape.session).map(([c, s]) => (s === undefined ? c : { ...c, session: s }));
  return fc.oneof(
    withSession(fc.record({ type: fc.constant('put' as const), key: shape.key, value: shape.value })),
    withSession(fc.record({ type: fc.constant('delete' as const), key: shape.key })),
    withSession(
      fc.record({
        type: fc.constant('cas' as const),
        key: shape.key,
        expected: condition(shape.value, shape.revision),
        value: shape.value,
      }),
    ),
    withSession(fc.record({ type: fc.constant('get' as const), key: shape.key })),
    fc.record({ type: fc.constant('expire-sessions' as const), now: shape.now }),
  );
}

/** Any encodable command, with extreme numbers and strings: for codec tests. */
export const anyCommand: fc.Arbitrary<KvCommand> = commandFrom({
  key: anyString,
  value: anyString,
  revision: fc.maxSafeNat(),
  now: fc.maxSafeNat(),
  session: fc.option(session(anyString, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })), { nil: undefined }),
});

/**
 * Commands that interact a lot: few keys, few clients with small sequences
 * (so retries, stale sequences and unknown sessions all happen), a slowly
 * moving log time, and revisions near the ones in play.
 */
export const busyCommand: fc.Arbitrary<KvCommand> = commandFrom({
  key: poolKey,
  value: smallValue,
  revision: fc.nat({ max: 30 }),
  now: fc.nat({ max: 400 }),
  session: fc.option(session(fc.constantFrom('c1', 'c2', 'c3'), fc.constantFrom(1, 1, 2, 2, 3, 4)), {
    nil: undefined,
    freq: 2,
  }),
});

/** A log entry: mostly commands, sometimes a no-op or garbage bytes. */
export type LogItem = { readonly command: KvCommand } | { readonly raw: Uint8Array };

export const logItem: fc.Arbitrary<LogItem> = fc.oneof(
  { weight: 20, arbitrary: busyCommand.map((command) => ({ command })) },
  { weight: 1, arbitrary: fc.constant({ raw: new Uint8Array(0) }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }).map((raw) => ({ raw })) },
);

export const log = fc.array(logItem, { maxLength: 60, size: 'medium' });

export function ctx(index: number, term = 1): ApplyContext {
  return { index, term };
}
