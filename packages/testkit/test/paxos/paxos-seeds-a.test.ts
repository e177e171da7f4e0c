import { describe, expect, it } from 'vitest';
import { simulatePaxos } from '../../src/paxos-sim/paxos-simulation.js';

// CI runs 1,000 Multi-Paxos simulator seeds, split over two files so that
// vitest can use both cores: here 1, 2 and 3 nodes in memory (500 seeds);
// the other file has 4 and 5 nodes and FileStorage. Longer runs:
// `pnpm synod sim --algorithm paxos --seeds 20000`.
const STEPS = 1000;

describe('Multi-Paxos simulator seeds (a)', () => {
  it.each([
    [1, 100],
    [2, 100],
    [3, 300],
  ])('%i nodes: no violation over %i seeds', async (nodes, seeds) => {
    const failures: string[] = [];
    for (let seed = nodes * 1_000_000; seed < nodes * 1_000_000 + seeds; seed++) {
      const result = await simulatePaxos({ seed, nodes, steps: STEPS });
      for (const v of result.violations) {
        failures.push(`seed ${seed}: ${v.invariant}: ${v.message} (replay: pnpm synod sim --algorithm paxos --seeds 1 --first-seed ${seed} --nodes ${nodes} --steps ${STEPS})`);
      }
    }
    expect(failures).toEqual([]);
  }, 600_000);
});
