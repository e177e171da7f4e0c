import { describe, expect, it } from 'vitest';
import { simulateRaft } from '../../src/simulator/raft-simulation.js';

/**
 * Membership faults on the simulator: n1…n9 exist, 3 or 5 start as voters,
 * and random adds, removes, promotions and joint replacements run during
 * partitions, crashes and message faults, with frequent snapshots. The Raft
 * safety invariants, linearizability of the client history, and liveness
 * after healing (with the final configuration's quorum up) must hold on
 * every seed.
 *
 * One block per size runs on FileStorage over simulated disks (crashes lose
 * unsynced bytes and tear tails), so membership and recovery meet.
 *
 * Seeds that found bugs stay in the range: 62 (5 voters) applied a forwarded
 * proposal twice after the network duplicated it; 75 (3 voters) could never
 * elect a leader again because a just-added voter, which knew no
 * configuration yet, refused the only candidate's votes.
 */
const SEEDS_PER_BLOCK = 100;
const BLOCKS = 5;

describe('simulator with membership faults', () => {
  for (const nodes of [3, 5]) {
    for (let block = 0; block < BLOCKS; block++) {
      const first = block * SEEDS_PER_BLOCK + 1;
      const last = first + SEEDS_PER_BLOCK - 1;
      it(`${nodes} initial voters, seeds ${first}–${last}: invariants, linearizability and liveness hold`, async () => {
        let changes = 0;
        for (let seed = first; seed <= last; seed++) {
          const result = await simulateRaft({ seed, nodes, steps: 3000, membership: true, checkBudgetMs: 5000 });
          changes += result.membershipChanges;
          expect(result.violations, `seed ${seed}`).toEqual([]);
          expect(result.linearizability, `seed ${seed}`).not.toBe('not-linearizable');
        }
        expect(changes).toBeGreaterThan(SEEDS_PER_BLOCK);
      }, 300_000);
    }
    const first = BLOCKS * SEEDS_PER_BLOCK + 1;
    const last = first + SEEDS_PER_BLOCK - 1;
    it(`${nodes} initial voters, seeds ${first}–${last} on FileStorage over simulated disks: every check holds`, async () => {
      let recoveries = 0;
      for (let seed = first; seed <= last; seed++) {
        const result = await simulateRaft({ seed, nodes, steps: 3000, membership: true, storage: 'file', checkBudgetMs: 5000 });
        recoveries += result.fileStorage?.recoveries ?? 0;
        expect(result.violations, `seed ${seed}`).toEqual([]);
        expect(result.linearizability, `seed ${seed}`).not.toBe('not-linearizable');
      }
      expect(recoveries).toBeGreaterThan(SEEDS_PER_BLOCK / 2);
    }, 300_000);
  }
});
