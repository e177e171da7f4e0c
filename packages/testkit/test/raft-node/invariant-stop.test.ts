import { RaftInvariantError, StoppedError, encodeKvCommand } from '@synod/core';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftTestCluster } from '../../src/cluster/raft-test-cluster.js';

/*
 * Issue 11, item 7: a broken invariant stops the node with a clear message
 * (etcd panics). Before the fix the follower clamped the commit index and
 * carried on as if nothing had happened.
 */

let cluster: RaftTestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe('RaftNode on a broken Raft invariant', () => {
  it('reports a RaftInvariantError and stops when told to commit past its log', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    await cluster.run(50);
    const follower = cluster.followers()[0]!;
    const errors: unknown[] = [];
    follower.on('error', ({ error }) => errors.push(error));
    const { term, lastIndex } = follower.status();
    const pending = follower.read({ type: 'get', key: 'k' }, { timeoutMs: 10_000 });
    pending.catch(() => undefined);
    follower.receive({
      clusterId: 'test',
      from: leader.id,
      to: follower.id,
      protocol: 'raft',
      payload: { type: 'heartbeat', from: leader.id, to: follower.id, term, commit: lastIndex + 100, context: '' },
    });
    await cluster.run(1);
    expect(errors.some((e) => e instanceof RaftInvariantError)).toBe(true);
    expect(String((errors.find((e) => e instanceof RaftInvariantError) as Error).message)).toMatch(/past the last index/);
    expect(follower.status().stopped).toBe(true);
    await expect(pending).rejects.toBeInstanceOf(StoppedError);
    await expect(follower.propose(encodeKvCommand({ type: 'put', key: 'a', value: '1' }))).rejects.toBeInstanceOf(
      StoppedError,
    );
  });
});
