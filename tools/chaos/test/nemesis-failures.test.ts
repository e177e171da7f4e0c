import { describe, expect, it } from 'vitest';
import type { ChaosCluster } from '../src/chaos-cluster.js';
import { Nemesis, type PlannedFault } from '../src/nemesis.js';

/** Just enough of a cluster for a delay fault through the nodes' fault hooks, where one node's API times out. */
function clusterWhereDelayTimesOutOn(slow: string): { cluster: ChaosCluster; delayed: string[]; healed: () => number } {
  const delayed: string[] = [];
  let heals = 0;
  const fake = {
    ids: ['n1', 'n2', 'n3'],
    transport: 'grpc',
    hasTransportDelays: true,
    lab: undefined,
    leader: () => Promise.resolve('n2'),
    delayLinks: (id: string) => {
      if (id === slow) return Promise.reject(new Error('Deadline exceeded after 2.008s'));
      delayed.push(id);
      return Promise.resolve();
    },
    healLinkDelays: () => {
      heals++;
      return Promise.resolve();
    },
    restartStopped: () => Promise.resolve({ restarted: [], failed: [] }),
  };
  return { cluster: fake as unknown as ChaosCluster, delayed, healed: () => heals };
}

describe('Nemesis when the harness cannot reach a node', () => {
  it('a delay fault whose target times out is recorded as not applied there and applied to the others; the run goes on', async () => {
    const { cluster, delayed, healed } = clusterWhereDelayTimesOutOn('n1');
    // dice[0] < 0.5: every node is a target.
    const fault: PlannedFault = { atMs: 0, kind: 'delay', durationMs: 0, dice: [0.1, 0.5, 0.5] };
    const record = await new Nemesis(cluster, () => 0).run(fault);
    expect(delayed).toEqual(['n2', 'n3']);
    expect(record.outcome).toContain('delay not applied on n1: Deadline exceeded');
    expect(healed()).toBe(1);
  });
});
