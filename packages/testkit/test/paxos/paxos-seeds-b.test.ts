import { describe, expect, it } from 'vitest';
import { simulatePaxos } from '../../src/paxos-sim/paxos-simulation.js';

// The other half of the 1,000 CI seeds (see paxos-seeds-a): 4 and 5 nodes
// in memory, and 3 nodes on FileStorage with simulated disks whose crashes
// lose unsynced bytes.
const STEPS = 1000;

describe('Multi-Paxos simulator seeds (b)', () => {
  it.each([
    [4, 'memory', 150],
    [5, 'memory', 250],
    [3, 'file', 100],
  ] as const)('%i nodes, %s storage: no violation over %i seeds', async (nodes, storage, seeds) => {
    const failures: string[] = [];
    const base = nodes * 1_000_000 + (storage === 'file' ? 500_000 : 0);
    for (let seed = base; seed < base + seeds; seed++) {
      const result = await simulatePaxos({ seed, nodes, steps: STEPS, storage });
      for (const v of result.violations) {
        failures.push(
          `seed ${seed}: ${v.invariant}: ${v.message} (replay: pnpm synod sim --algorithm paxos --seeds 1 --first-seed ${seed} --nodes ${nodes} --steps ${STEPS} --storage ${storage})`,
        );
      }
    }
    expect(failures).toEqual([]);
  }, 600_000);
});
