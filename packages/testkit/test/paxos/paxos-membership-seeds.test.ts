import { describe, expect, it } from 'vitest';
import { simulatePaxos } from '../../src/paxos-sim/paxos-simulation.js';

/**
 * Multi-Paxos under random membership changes (add, remove, replace one
 * voter among 9 possible nodes) together with the usual faults. Choice is
 * judged per slot by the voters of the configuration then in effect.
 */
describe('Multi-Paxos simulation with membership changes', () => {
  it.each([
    // A candidate that learned, while taking over, a chosen change removing it
    // went on to propose as leader and threw NotLeaderError.
    [3, 'takeover learns its own removal'],
    // A candidate that missed a chosen change never sent prepares to the new
    // voters, and waited forever for a quorum of their configuration.
    [148, 'phase 1 asks the members of the configurations it finds'],
    // A leader that replaced itself with a node that had heard nothing: the
    // new sole voter never learned it was one, and nothing committed again.
    [173, 'a removed leader hands off to the new voters'],
  ])('seed %i: %s', async (seed) => {
    const result = await simulatePaxos({ seed, nodes: 3, steps: 3000, membership: true });
    expect(result.violations).toEqual([]);
  });

  it('100 seeds of 3 voters: no safety or liveness violation', async () => {
    let changes = 0;
    for (let seed = 1000; seed < 1100; seed++) {
      const result = await simulatePaxos({ seed, nodes: 3, steps: 3000, membership: true });
      changes += result.membershipChanges;
      expect(result.violations, `seed ${seed}`).toEqual([]);
    }
    expect(changes).toBeGreaterThan(100);
  }, 300_000);
});
