import { describe, expect, it } from 'vitest';
import { simulateRaft } from '../../src/simulator/raft-simulation.js';

describe('raft simulation', () => {
  it('elects a leader and commits on a healthy 3-node cluster', async () => {
    const result = await simulateRaft({ seed: 1, nodes: 3, steps: 2000, faults: false });
    expect(result.violations).toEqual([]);
    expect(result.committedIndex).toBeGreaterThan(1);
    expect(result.operations.ok).toBeGreaterThan(0);
  });

  it('replays identically from the same seed', async () => {
    const a = await simulateRaft({ seed: 42, nodes: 5, steps: 3000 });
    const b = await simulateRaft({ seed: 42, nodes: 5, steps: 3000 });
    expect(b).toEqual(a);
  });

  it('runs a single-node cluster', async () => {
    const result = await simulateRaft({ seed: 3, nodes: 1, steps: 1000 });
    expect(result.violations).toEqual([]);
    expect(result.committedIndex).toBeGreaterThan(1);
  });

  it.each([3, 5])('keeps every safety invariant under random faults with %i nodes (seeds 1-15)', async (nodes) => {
    for (let seed = 1; seed <= 15; seed++) {
      const result = await simulateRaft({ seed, nodes, steps: 3000 });
      expect(result.violations, `seed ${seed}`).toEqual([]);
    }
  });
});

describe('the simulator notices broken durability', () => {
  it('reports safety violations when disks acknowledge fsync without persisting', async () => {
    let violating = 0;
    for (let seed = 1; seed <= 40 && violating === 0; seed++) {
      const result = await simulateRaft({ seed, nodes: 3, steps: 4000, lyingDisks: true });
      if (result.violations.some((v) => v.invariant !== 'liveness')) violating++;
    }
    expect(violating).toBeGreaterThan(0);
  });
});

describe('client history checking in the simulator', () => {
  it('records every client operation and finds the history linearizable', async () => {
    const result = await simulateRaft({ seed: 11, nodes: 5, steps: 4000 });
    expect(result.linearizability).toBe('linearizable');
    const invokes = result.history.filter((e) => e.type === 'invoke').length;
    expect(invokes).toBe(result.operations.ok + result.operations.fail + result.operations.info + openOps(result.history));
    expect(result.operations.ok).toBeGreaterThan(0);
  });
});

function openOps(history: readonly { type: string; id: number }[]): number {
  const completed = new Set(history.filter((e) => e.type !== 'invoke').map((e) => e.id));
  return history.filter((e) => e.type === 'invoke' && !completed.has(e.id)).length;
}
