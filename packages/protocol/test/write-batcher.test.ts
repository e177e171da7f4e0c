import { AbortError, decodeKvCommand, encodeKvCommand, KvStateMachine, NotLeaderError, type KvResult } from '@synod/core';
import { describe, expect, it } from 'vitest';
import { WriteBatcher, type KvRaftNode } from '../src/index.js';

/*
 * Issue 14: the writes that reach a server in one turn of the event loop go
 * to the node as one proposal (a KV batch), each write with its own result.
 */

/** A node that applies each proposal to a KV store at once, and records what it was given. */
function fakeNode(options: { fail?: Error; maxProposalBytes?: number } = {}) {
  const store = new KvStateMachine();
  const proposals: Uint8Array[] = [];
  let index = 0;
  const node = {
    maxProposalBytes: options.maxProposalBytes ?? 1 << 20,
    propose(command: Uint8Array): Promise<KvResult> {
      proposals.push(command);
      if (options.fail !== undefined) return Promise.reject(options.fail);
      return Promise.resolve(store.apply(command, { index: ++index, term: 1 }));
    },
  };
  return { node: node as unknown as KvRaftNode, proposals, store };
}

/** Flushes only when the test says so. */
function manualSchedule() {
  let pending: (() => void) | undefined;
  return {
    schedule: (flush: () => void) => void (pending = flush),
    flush: () => {
      const run = pending;
      pending = undefined;
      run?.();
    },
  };
}

const put = (key: string, value: string, sequence?: number) =>
  encodeKvCommand({ type: 'put', key, value, ...(sequence === undefined ? {} : { session: { clientId: `c-${key}`, sequence } }) });
const wait = { timeoutMs: 1_000 };

describe('WriteBatcher', () => {
  it('proposes the writes of one turn as one batch and answers each with its own result', async () => {
    const { node, proposals, store } = fakeNode();
    const turn = manualSchedule();
    const writes = new WriteBatcher(node, { schedule: turn.schedule });
    const answers = ['a', 'b', 'c'].map((key, i) => writes.submit(put(key, String(i), 1), wait));
    turn.flush();
    const results = await Promise.all(answers);
    expect(proposals).toHaveLength(1);
    expect(decodeKvCommand(proposals[0]!)).toMatchObject({ type: 'batch', commands: [{ key: 'a' }, { key: 'b' }, { key: 'c' }] });
    expect(results.map((r) => (r.type === 'put' ? [r.kv.key, r.revision] : r.type))).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
    expect(store.sessionCount).toBe(3);
  });

  it('proposes a lone write as it is', async () => {
    const { node, proposals } = fakeNode();
    const turn = manualSchedule();
    const writes = new WriteBatcher(node, { schedule: turn.schedule });
    const answer = writes.submit(put('a', '1'), wait);
    turn.flush();
    expect(await answer).toMatchObject({ type: 'put', revision: 1 });
    expect(proposals).toEqual([put('a', '1')]);
  });

  it('starts a new proposal when the next write would pass the proposal size limit or the command limit', async () => {
    const { node, proposals } = fakeNode({ maxProposalBytes: 100 });
    const turn = manualSchedule();
    const writes = new WriteBatcher(node, { schedule: turn.schedule, maxCommands: 10 });
    const answers = Array.from({ length: 6 }, (_, i) => writes.submit(put(`k${i}`, 'x'.repeat(20)), wait));
    turn.flush();
    await Promise.all(answers);
    expect(proposals.length).toBeGreaterThan(1);
    for (const proposal of proposals) expect(proposal.byteLength).toBeLessThanOrEqual(100);
    const keys = proposals.flatMap((p) => {
      const command = decodeKvCommand(p);
      return command.type === 'batch' ? command.commands.map((c) => c.key) : [(command as { key: string }).key];
    });
    expect(keys).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5']);
  });

  it('answers a write whose caller gives up at once, and still proposes the others', async () => {
    const { node, proposals } = fakeNode();
    const turn = manualSchedule();
    const writes = new WriteBatcher(node, { schedule: turn.schedule });
    const controller = new AbortController();
    const gone = writes.submit(put('a', '1'), { timeoutMs: 1_000, signal: controller.signal });
    const kept = writes.submit(put('b', '2'), wait);
    controller.abort();
    await expect(gone).rejects.toBeInstanceOf(AbortError);
    turn.flush();
    expect(await kept).toMatchObject({ type: 'put', kv: { key: 'b' } });
    expect(proposals).toEqual([put('b', '2')]);
  });

  it('fails every write of a batch the node refuses, with the node’s error', async () => {
    const { node } = fakeNode({ fail: new NotLeaderError('n2') });
    const turn = manualSchedule();
    const writes = new WriteBatcher(node, { schedule: turn.schedule });
    const answers = [writes.submit(put('a', '1'), wait), writes.submit(put('b', '2'), wait)];
    turn.flush();
    for (const answer of answers) await expect(answer).rejects.toBeInstanceOf(NotLeaderError);
  });

  it('flushes by itself at the end of the turn', async () => {
    const { node, proposals } = fakeNode();
    const writes = new WriteBatcher(node);
    const answers = [writes.submit(put('a', '1'), wait), writes.submit(put('b', '2'), wait)];
    await Promise.all(answers);
    expect(proposals).toHaveLength(1);
  });
});
