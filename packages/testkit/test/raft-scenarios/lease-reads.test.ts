import { encodeKvCommand, type FailureDetector } from '@synod/core';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftTestCluster } from '../../src/cluster/raft-test-cluster.js';

/*
 * Issue 11, item 1, end to end: with detector-assisted elections the
 * followers of a leader cut off from them campaigned at once, elected a new
 * leader and committed k=new while the old leader's lease still held, and
 * the old leader answered a lease read of k with `old`. Failed before the fix.
 */

const TICK_MS = 10;
const put = (key: string, value: string): Uint8Array => encodeKvCommand({ type: 'put', key, value });

/** A detector that suspects every peer once told to: the fastest possible suspicion. */
function switchableDetector(state: { suspect: boolean }): FailureDetector {
  return {
    heartbeat: () => undefined,
    isAvailable: () => !state.suspect,
    check: () => undefined,
    remove: () => undefined,
    onChange: () => () => undefined,
  };
}

let cluster: RaftTestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe('lease reads with detector-assisted elections', () => {
  it('the old leader never answers a lease read with a value a new leader has overwritten', async () => {
    for (let seed = 1; seed <= 4; seed++) {
      const detectors = { suspect: false };
      cluster = new RaftTestCluster({
        nodes: 3,
        seed,
        tickIntervalMs: TICK_MS,
        raft: { leaseReads: true, checkQuorum: true, preVote: true, electionTicks: 20 },
        failureDetector: () => switchableDetector(detectors),
      });
      const old = await cluster.waitForLeader();
      expect((await cluster.settle(old.propose(put('k', 'old')))).status).toBe('fulfilled');
      await cluster.run(5 * TICK_MS);
      cluster.disconnect(old.id);
      detectors.suspect = true;
      let overwritten = false;
      const staleReads: number[] = [];
      for (let step = 0; step < 60 && old.status().role === 'leader'; step++) {
        await cluster.run(TICK_MS / 2);
        const next = cluster.leaders().find((n) => n.id !== old.id && n.status().term > old.status().term);
        if (next !== undefined && !overwritten) {
          next.propose(put('k', 'new')).then(
            () => (overwritten = true),
            () => undefined,
          );
        }
        if (overwritten) {
          old.read({ type: 'get', key: 'k' }, { consistency: 'lease', timeoutMs: 5 * TICK_MS }).then(
            (result) => {
              if ((result as { kv?: { value: string } }).kv?.value === 'old') staleReads.push(cluster!.clock.now());
            },
            () => undefined,
          );
        }
      }
      expect(staleReads).toEqual([]);
      // The majority still elects a new leader, once the old lease is over.
      await cluster.waitForLeader({ not: old.id, limitMs: 100 * TICK_MS });
      await cluster.stop();
      cluster = undefined;
    }
  });
});
