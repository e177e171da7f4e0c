import { describe, expect, it } from 'vitest';
import { SnapshotReceiver, SnapshotSender } from '../../src/raft/snapshot-transfer.js';
import type { Snapshot, SnapshotRequest } from '../../src/raft/types.js';
import { Network } from './network.js';

const snapshot: Snapshot = {
  metadata: { index: 10, term: 2, confState: { voters: ['a', 'b'], learners: [], votersOutgoing: [], autoLeave: false } },
  data: Uint8Array.from({ length: 25 }, (_, i) => i),
};

function request(chunk: Omit<SnapshotRequest, 'from' | 'to' | 'term' | 'type'>, term = 3): SnapshotRequest {
  return { type: 'snapshot', from: 'a', to: 'b', term, ...chunk };
}

describe('chunked InstallSnapshot', () => {
  it('streams a snapshot in chunks no larger than the limit and reassembles it exactly', () => {
    const sender = new SnapshotSender(10);
    const receiver = new SnapshotReceiver();
    let chunk = sender.chunkFor('b', snapshot);
    const sizes: number[] = [];
    for (;;) {
      sizes.push(chunk.snapshot.data.byteLength);
      const outcome = receiver.accept(request(chunk));
      if (outcome.kind === 'complete') {
        expect(outcome.snapshot).toEqual(snapshot);
        break;
      }
      expect(outcome.kind).toBe('partial');
      chunk = sender.onResponse('b', 10, outcome.offset, false)!;
    }
    expect(sizes).toEqual([10, 10, 5]);
  });

  it('resumes after a lost chunk, and asks for a restart when it cannot place a chunk', () => {
    const sender = new SnapshotSender(10);
    const receiver = new SnapshotReceiver();
    const first = sender.chunkFor('b', snapshot);
    expect(receiver.accept(request(first))).toEqual({ kind: 'partial', offset: 10 });
    const second = sender.onResponse('b', 10, 10, false)!;
    // `second` is lost; the leader later resumes the same stream from the acknowledged offset.
    const resumed = sender.chunkFor('b', snapshot);
    expect(resumed.offset).toBe(10);
    expect(resumed).toEqual(second);
    // A chunk past what the follower holds: it asks to resend from its offset.
    expect(receiver.accept(request({ ...resumed, offset: 20, snapshot: { ...resumed.snapshot, data: snapshot.data.subarray(20) } }))).toEqual({
      kind: 'resend',
      offset: 10,
    });
    // A restarted follower knows nothing and asks to start over.
    expect(new SnapshotReceiver().accept(request(resumed))).toEqual({ kind: 'resend', offset: 0 });
    // A chunk from a new term is a different stream.
    expect(receiver.accept(request(resumed, 4))).toEqual({ kind: 'resend', offset: 0 });
    expect(sender.onResponse('b', 10, 0, true)).toEqual(first);
  });

  it('brings a far-behind follower up to date through the core, in chunks of maxMessageBytes', () => {
    const net = new Network(['a', 'b', 'c'], { config: { maxMessageBytes: 8 } });
    net.elect('a');
    net.isolate('c');
    for (let i = 0; i < 20; i++) net.propose('a', `entry-${i}`);
    const a = net.node('a');
    const applied = a.core.status().applied;
    a.storage.createSnapshot(applied, new TextEncoder().encode('state machine at '.repeat(4)), a.core.confState());
    a.storage.compact(applied);
    net.heal();
    net.tick('a', 30);
    const chunks = net.delivered.filter((m) => m.type === 'snapshot' && m.to === 'c');
    expect(chunks.length).toBeGreaterThanOrEqual(8);
    for (const m of chunks) if (m.type === 'snapshot') expect(m.snapshot.data.byteLength).toBeLessThanOrEqual(8);
    expect(net.node('c').storage.snapshot().metadata.index).toBe(applied);
    expect(net.core('c').status().commit).toBe(net.core('a').status().commit);
  });
});
