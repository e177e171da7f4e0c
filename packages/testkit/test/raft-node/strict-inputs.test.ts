import { InvalidArgumentError, MessageTooLargeError, encodeKvCommand } from '@synod/core';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftTestCluster } from '../../src/cluster/raft-test-cluster.js';

/*
 * Issue 11, item 3: propose() and read() trusted their arguments. Each case
 * below failed before the fix: a string proposal applied zero bytes, an
 * object poisoned the shared frame block for every node in the process, an
 * oversize proposal entered the log and wedged the cluster, a bad timeoutMs
 * became a silent timeout, and an unknown consistency read as linearizable.
 */

const put = (key: string, value: string): Uint8Array => encodeKvCommand({ type: 'put', key, value });

let cluster: RaftTestCluster | undefined;
let other: RaftTestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  await other?.stop();
  cluster = other = undefined;
});

async function rejection(cluster: RaftTestCluster, operation: Promise<unknown>): Promise<unknown> {
  const outcome = await cluster.settle(operation);
  if (outcome.status === 'fulfilled') throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  return outcome.reason;
}

describe('RaftNode.propose input validation', () => {
  it('refuses anything that is not a Uint8Array with InvalidArgumentError, and nothing reaches the log', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    const lastIndex = leader.status().lastIndex;
    for (const bad of ['hello', {}, 42, new ArrayBuffer(8), [1, 2, 3], null, undefined]) {
      const error = await rejection(cluster, leader.propose(bad as unknown as Uint8Array));
      expect(error).toBeInstanceOf(InvalidArgumentError);
    }
    expect(leader.status().lastIndex).toBe(lastIndex);
    expect(leader.status().pendingProposals).toBe(0);
  });

  it('keeps working after bad proposals, on this cluster and on a brand-new one', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    for (const bad of [{}, 42, [1, 2]]) await rejection(cluster, leader.propose(bad as unknown as Uint8Array));
    expect(await cluster.settle(leader.propose(put('a', '1')))).toMatchObject({
      status: 'fulfilled',
      value: { type: 'put', kv: { key: 'a', value: '1' } },
    });
    other = new RaftTestCluster({ nodes: 3, seed: 2 });
    const fresh = await other.waitForLeader();
    expect(await other.settle(fresh.propose(put('b', '2')))).toMatchObject({
      status: 'fulfilled',
      value: { type: 'put', kv: { key: 'b', value: '2' } },
    });
  });

  it('refuses a proposal that cannot fit in one message with MessageTooLargeError before it touches the log', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    const lastIndex = leader.status().lastIndex;
    for (const size of [2 * 1024 * 1024, cluster.network.maxMessageBytes]) {
      const error = await rejection(cluster, leader.propose(new Uint8Array(size)));
      expect(error).toBeInstanceOf(MessageTooLargeError);
    }
    expect(leader.status().lastIndex).toBe(lastIndex);
    // The largest proposal that is accepted replicates, and the cluster goes on.
    const largest = leader.maxProposalBytes;
    expect(largest).toBeGreaterThan(cluster.network.maxMessageBytes - 8 * 1024);
    const accepted = await cluster.settle(leader.propose(new Uint8Array(largest)));
    expect(accepted.status).toBe('fulfilled');
    expect(await cluster.settle(leader.propose(put('after', 'big')))).toMatchObject({ status: 'fulfilled' });
  });

  it('refuses an oversize proposal on a follower too (it would be forwarded)', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    await cluster.waitForLeader();
    await cluster.run(50);
    const follower = cluster.followers()[0]!;
    expect(await rejection(cluster, follower.propose(new Uint8Array(2 * 1024 * 1024)))).toBeInstanceOf(
      MessageTooLargeError,
    );
  });

  it('refuses a timeoutMs that is negative, NaN, not a number or above 2^31-1 ms', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    const lastIndex = leader.status().lastIndex;
    for (const timeoutMs of [-1, Number.NaN, '100', 2 ** 31, Number.POSITIVE_INFINITY]) {
      const options = { timeoutMs: timeoutMs as number };
      expect(await rejection(cluster, leader.propose(put('t', '1'), options))).toBeInstanceOf(InvalidArgumentError);
      expect(await rejection(cluster, leader.read({ type: 'get', key: 't' }, options))).toBeInstanceOf(
        InvalidArgumentError,
      );
      expect(await rejection(cluster, leader.stepDown(options))).toBeInstanceOf(InvalidArgumentError);
    }
    // Nothing was appended, so nothing was applied behind the caller's back.
    expect(leader.status().lastIndex).toBe(lastIndex);
    expect(leader.status().role).toBe('leader');
    expect(await cluster.settle(leader.propose(put('t', '2'), { timeoutMs: 2 ** 31 - 1 }))).toMatchObject({
      status: 'fulfilled',
    });
  });

  it('refuses an unknown read consistency instead of reading linearizably', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    for (const consistency of ['strong', 'LEASE', 42]) {
      const options = { consistency: consistency as 'lease' };
      expect(await rejection(cluster, leader.read({ type: 'get', key: 'k' }, options))).toBeInstanceOf(
        InvalidArgumentError,
      );
    }
    expect(leader.status().pendingReads).toBe(0);
  });
});
