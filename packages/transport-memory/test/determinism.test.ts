import type { NodeId } from '@synod/core';
import { describe, expect, it } from 'vitest';
import { drain, envelope, recordArrivals, virtualNetwork } from './support/harness.js';

const NODES: NodeId[] = ['n1', 'n2', 'n3', 'n4'];

/**
 * A fixed script of sends and faults under every random fault at once,
 * returning the delivery trace (time, receiver, sender, sequence).
 */
function runScript(seed: number): string[] {
  const h = virtualNetwork({
    seed,
    faults: {
      dropRate: 0.1,
      duplicateRate: 0.1,
      delay: { kind: 'exponential', minMs: 1, meanMs: 5, maxMs: 50 },
      reorder: { rate: 0.2, maxExtraDelayMs: 30 },
    },
  });
  const arrivals = recordArrivals(h, NODES);
  let seq = 0;
  for (let round = 0; round < 30; round++) {
    if (round === 10) h.network.partition([['n1', 'n2'], ['n3', 'n4']]);
    if (round === 15) h.network.heal();
    if (round === 20) h.network.crash('n4');
    if (round === 25) h.network.restart('n4');
    for (const from of NODES) {
      for (const to of NODES) {
        if (from === to || h.network.status(from) !== 'up') continue;
        h.network.endpoint(from).send(to, envelope(from, to, seq++));
      }
    }
    h.clock.advance(3);
  }
  drain(h.clock);
  return arrivals.map((a) => `${a.at.toFixed(6)} ${a.envelope.from}>${a.node} #${String(a.envelope.payload)}`);
}

describe('determinism', () => {
  it('replays the identical delivery trace from the same seed', () => {
    const first = runScript(1234);
    const second = runScript(1234);
    expect(first.length).toBeGreaterThan(100);
    expect(second).toEqual(first);
  });

  it('gives a different trace for a different seed', () => {
    expect(runScript(1234)).not.toEqual(runScript(4321));
  });
});
