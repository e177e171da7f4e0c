import { describe, expect, it } from 'vitest';
import { simulateRaft } from '../../src/simulator/raft-simulation.js';

// CI runs at least 1,000 simulator seeds, split over two files so that
// vitest can use both cores. Longer runs: `pnpm synod sim --algorithm raft --seeds 20000`.
const SEEDS_PER_SIZE = 100;

describe('simulator seeds, 6 to 9 nodes and larger runs', () => {
  it.each([6, 7, 8, 9, 3])('%i nodes: no violation over 100 seeds', async (nodes) => {
    const failures: string[] = [];
    for (let seed = nodes * 1_000_000; seed < nodes * 1_000_000 + SEEDS_PER_SIZE; seed++) {
      const result = await simulateRaft({ seed, nodes, steps: 2500 });
      for (const v of result.violations) {
        failures.push(`seed ${seed}: ${v.invariant}: ${v.message} (replay: pnpm synod sim --algorithm raft --seeds 1 --first-seed ${seed} --nodes ${nodes} --steps 2500)`);
      }
    }
    expect(failures).toEqual([]);
  }, 300_000);
});
