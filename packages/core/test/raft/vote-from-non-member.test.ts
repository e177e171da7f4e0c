import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { harness, voteRequest } from './helpers.js';

/** A node whose log holds three entries of term 1, with the given configuration. */
function voterWithLog(voters: readonly string[]) {
  const storage = new MemoryStorage();
  storage.append([1, 2, 3].map((index) => ({ index, term: 1, type: 'normal' as const, data: new Uint8Array() })));
  storage.setHardState({ term: 1, vote: undefined, commit: 3 });
  return harness('n1', voters, {}, storage);
}

function answer(voters: readonly string[], from: string, lastLogIndex: number, lastLogTerm: number, type: 'vote' | 'prevote') {
  const h = voterWithLog(voters);
  h.core.step(voteRequest(from, 'n1', 2, lastLogIndex, lastLogTerm, type));
  const responses = h.drain().messages.filter((m) => m.type === `${type}-response`);
  expect(responses).toHaveLength(1);
  return (responses[0] as { reject: boolean }).reject ? 'reject' : 'grant';
}

/**
 * DESIGN: votes from non-members are rejected. But the configuration a node
 * knows may lag the leader's, so a candidate outside it is heard when its
 * log is strictly ahead (it may have been added by entries we lack) or when
 * we know no configuration at all; otherwise a just-added voter could stall
 * the cluster for good (simulator seed 75 with membership faults).
 */
describe('votes from candidates outside our configuration', () => {
  const members = ['n1', 'n2', 'n3'];
  const cases: [string, readonly string[], string, number, number, 'grant' | 'reject'][] = [
    ['a member with an equal log', members, 'n2', 3, 1, 'grant'],
    ['a non-member with an equal log', members, 'n9', 3, 1, 'reject'],
    ['a non-member with a shorter log', members, 'n9', 2, 1, 'reject'],
    ['a non-member whose log is longer in the same term', members, 'n9', 4, 1, 'grant'],
    ['a non-member whose last term is newer', members, 'n9', 2, 2, 'grant'],
    ['a non-member, by a node that knows no configuration', [], 'n9', 3, 1, 'grant'],
    ['a non-member with a shorter log, by a node that knows no configuration', [], 'n9', 2, 1, 'reject'],
  ];
  for (const type of ['vote', 'prevote'] as const) {
    for (const [name, voters, from, lastIndex, lastTerm, expected] of cases) {
      it(`${type}: ${name} → ${expected}`, () => {
        expect(answer(voters, from, lastIndex, lastTerm, type)).toBe(expected);
      });
    }
  }
});
