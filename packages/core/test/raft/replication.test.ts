import { describe, expect, it } from 'vitest';
import type { AppendRequest, RaftMessage } from '../../src/raft/types.js';
import { harness } from './helpers.js';
import type { Harness } from './helpers.js';
import { Network, encode, storageWithTerms } from './network.js';

const noPreVote = { preVote: false, checkQuorum: false } as const;

/** Makes `h` leader of its cluster by granting it the votes of `grant`. */
function makeLeader(h: Harness, grant: readonly string[]): RaftMessage[] {
  h.core.campaign();
  h.drain();
  const term = h.core.status().term;
  for (const from of grant) h.core.step({ type: 'vote-response', from, to: h.core.id, term, reject: false });
  expect(h.core.status().role).toBe('leader');
  return h.drain().messages;
}

const appendsTo = (messages: readonly RaftMessage[], to: string): AppendRequest[] =>
  messages.filter((m): m is AppendRequest => m.type === 'append' && m.to === to);

const ack = (from: string, to: string, term: number, index: number): RaftMessage => ({
  type: 'append-response',
  from,
  to,
  term,
  reject: false,
  index,
  rejectHint: 0,
  logTerm: 0,
});

describe('log replication (§5.3)', () => {
  it('§5.3 the leader replicates entries, commits once a majority stored them, and followers apply them', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.isolate('c');
    net.propose('a', 'x');
    net.propose('a', 'y');
    expect(net.appliedText('a')).toEqual(['x', 'y']);
    expect(net.appliedText('b')).toEqual(['x', 'y']);
    expect(net.appliedText('c')).toEqual([]);
    net.heal();
    net.tickAll(2);
    expect(net.appliedText('c')).toEqual(['x', 'y']);
  });

  it('§5.3 nothing commits without a majority', () => {
    const net = new Network(['a', 'b', 'c'], { config: { checkQuorum: false } });
    net.elect('a');
    const commit = net.core('a').status().commit;
    net.isolate('a');
    net.propose('a', 'lonely');
    net.tick('a', 5);
    expect(net.core('a').status().commit).toBe(commit);
    expect(net.appliedText('a')).toEqual([]);
  });

  it('the leader counts itself toward commit only after its own entries are persisted (advance)', () => {
    const h = harness('a', ['a', 'b', 'c'], noPreVote);
    makeLeader(h, ['b']);
    h.core.step(ack('b', 'a', 1, 1));
    h.drain();
    expect(h.core.status().commit).toBe(1);
    const { index } = h.core.propose(encode('x')) as { index: number };
    h.core.step(ack('b', 'a', 1, index));
    // b has it, but the leader has not persisted it yet: 1 of 3.
    expect(h.core.status().commit).toBe(1);
    const rd = h.core.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([index]);
    h.storage.append(rd.entries);
    h.core.advance(rd);
    expect(h.core.status().commit).toBe(index);
  });

  it('a follower applies only entries it has persisted', () => {
    const h = harness('b', ['a', 'b', 'c'], noPreVote);
    const entries = [1, 2].map((index) => ({ index, term: 1, type: 'normal' as const, data: encode(`e${index}`) }));
    h.core.step({ type: 'append', from: 'a', to: 'b', term: 1, prevLogIndex: 0, prevLogTerm: 0, entries, commit: 2 });
    const first = h.core.ready();
    expect(first.entries).toHaveLength(2);
    expect(first.hardState?.commit).toBe(2);
    expect(first.committedEntries).toEqual([]);
    expect(first.messages).toEqual([
      { type: 'append-response', from: 'b', to: 'a', term: 1, reject: false, index: 2, rejectHint: 0, logTerm: 0 },
    ]);
    h.storage.append(first.entries);
    h.storage.setHardState(first.hardState!);
    h.core.advance(first);
    expect(h.core.ready().committedEntries.map((e) => e.index)).toEqual([1, 2]);
  });

  it('§5.3 heartbeats carry commit = min(follower match, leader commit)', () => {
    const net = new Network(['a', 'b', 'c'], { config: { checkQuorum: false } });
    net.elect('a');
    net.isolate('c');
    net.propose('a', 'x');
    net.propose('a', 'y');
    net.core('a').tick();
    net.flush('a');
    const sent = net.queue;
    const hb = (to: string): number => {
      const m = sent.find((x) => x.type === 'heartbeat' && x.to === to);
      return m !== undefined && m.type === 'heartbeat' ? m.commit : -1;
    };
    expect(hb('b')).toBe(3);
    expect(hb('c')).toBe(1); // c only holds the no-op... as far as the leader knows
  });

  it('§5.3 a follower with conflicting uncommitted entries has them overwritten by the leader', () => {
    const net = new Network(['a', 'b', 'c'], {
      config: noPreVote,
      storageFor: (id) =>
        id === 'a'
          ? storageWithTerms([1, 1, 3, 3], { term: 3, commit: 2 })
          : id === 'b'
            ? storageWithTerms([1, 1, 2, 2, 2, 2], { term: 2, commit: 2 })
            : storageWithTerms([1, 1], { term: 3, commit: 2 }),
    });
    net.elect('a');
    expect(net.leaders()).toEqual(['a']);
    expect(net.logTerms('b')).toEqual([1, 1, 3, 3, 4]);
    expect(net.logTerms('c')).toEqual([1, 1, 3, 3, 4]);
  });

  it('§5.3 fast backtracking: a long divergent log is repaired in a couple of round trips, not one per entry', () => {
    const leaderTerms = [1, ...Array<number>(50).fill(2), ...Array<number>(50).fill(5)];
    const followerTerms = [1, ...Array<number>(100).fill(4)];
    const net = new Network(['a', 'b', 'c'], {
      config: noPreVote,
      storageFor: (id) =>
        id === 'b' ? storageWithTerms(followerTerms, { term: 5, commit: 1 }) : storageWithTerms(leaderTerms, { term: 5, commit: 1 }),
    });
    net.elect('a');
    const rejections = net.delivered.filter((m) => m.type === 'append-response' && m.from === 'b' && m.reject);
    expect(rejections.length).toBeLessThanOrEqual(2);
    expect(net.logTerms('b')).toEqual(net.logTerms('a'));
  });

  it('§5.3 fast backtracking: a follower far behind tells the leader its last index', () => {
    const net = new Network(['a', 'b', 'c'], {
      config: noPreVote,
      storageFor: (id) => (id === 'b' ? storageWithTerms([1, 1]) : storageWithTerms(Array<number>(200).fill(1), { term: 1 })),
    });
    net.elect('a');
    const rejections = net.delivered.filter((m) => m.type === 'append-response' && m.from === 'b' && m.reject);
    expect(rejections).toHaveLength(1);
    expect(net.logTerms('b')).toHaveLength(201);
  });

  it('Figure 8: an entry from an earlier term is not committed by counting replicas; it commits with the current term', () => {
    // a led term 2 and wrote index 2; it returns as leader of term 4 with
    // index 2 (term 2) and replicates it to a majority. That alone must not
    // commit index 2 (§5.4.2): a node with a term-3 entry at index 2 could
    // still win an election and overwrite it.
    const h = harness('a', ['a', 'b', 'c', 'd', 'e'], noPreVote, storageWithTerms([1, 2], { term: 3, commit: 1 }));
    makeLeader(h, ['b', 'c']);
    const term = h.core.status().term;
    expect(term).toBe(4);
    expect(h.core.status().lastIndex).toBe(3); // the no-op of term 4
    h.core.step(ack('b', 'a', term, 2));
    h.core.step(ack('c', 'a', term, 2));
    h.drain();
    // Index 2 is on a, b and c (3 of 5), but it is from term 2.
    expect(h.core.status().commit).toBe(1);
    h.core.step(ack('b', 'a', term, 3));
    expect(h.core.status().commit).toBe(1);
    h.core.step(ack('c', 'a', term, 3));
    // The term-4 no-op is on a majority: it commits, and index 2 with it.
    expect(h.core.status().commit).toBe(3);
  });

  it('Log Matching and State Machine Safety hold through a lossy run with leader changes', () => {
    const net = new Network(['a', 'b', 'c', 'd', 'e'], { seed: 9 });
    let state = 99;
    let lossy = true;
    net.filter = () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return !lossy || state % 10 >= 2;
    };
    let n = 0;
    for (let round = 0; round < 300; round++) {
      net.tickAll();
      if (round % 3 === 0) {
        for (const id of net.leaders()) {
          try {
            net.core(id).propose(encode(`v${n++}`));
          } catch {
            // transfer or limit: fine
          }
        }
      }
      if (round === 100) net.isolate('a');
      if (round === 150) net.partition(['a', 'b'], ['c', 'd', 'e']);
      if (round === 200) net.heal();
    }
    lossy = false;
    net.heal();
    net.tickAll(30);
    const logs = ['a', 'b', 'c', 'd', 'e'].map((id) => net.logTerms(id));
    for (const log of logs) expect(log).toEqual(logs[0]);
    const applied = ['a', 'b', 'c', 'd', 'e'].map((id) => net.appliedText(id));
    for (const a of applied) expect(a).toEqual(applied[0]);
    expect(applied[0]!.length).toBeGreaterThan(10);
  });
});

describe('flow control', () => {
  it('in probe the leader sends one append at a time until the follower answers', () => {
    const h = harness('a', ['a', 'b'], noPreVote);
    const first = makeLeader(h, ['b']);
    expect(appendsTo(first, 'b')).toHaveLength(1);
    h.core.propose(encode('x'));
    h.core.propose(encode('y'));
    expect(appendsTo(h.drain().messages, 'b')).toHaveLength(0);
    // A heartbeat response unpauses the probe.
    h.core.step({ type: 'heartbeat-response', from: 'b', to: 'a', term: 1, context: '' });
    const next = appendsTo(h.drain().messages, 'b');
    expect(next).toHaveLength(1);
    expect(next[0]!.entries.map((e) => e.index)).toEqual([1, 2, 3]);
  });

  it('in replicate the leader pipelines appends up to maxInflightMessages', () => {
    const h = harness('a', ['a', 'b'], { ...noPreVote, maxInflightMessages: 2 });
    makeLeader(h, ['b']);
    h.core.step(ack('b', 'a', 1, 1));
    h.drain();
    expect(h.core.status().progress?.get('b')?.state).toBe('replicate');
    const sent: AppendRequest[] = [];
    for (let i = 0; i < 5; i++) {
      h.core.propose(encode(`p${i}`));
      sent.push(...appendsTo(h.drain().messages, 'b').filter((m) => m.entries.length > 0));
    }
    expect(sent.map((m) => m.entries.map((e) => e.index))).toEqual([[2], [3]]);
    // Acknowledging the first frees a slot: the rest goes out in one message.
    h.core.step(ack('b', 'a', 1, 2));
    const more = appendsTo(h.drain().messages, 'b').filter((m) => m.entries.length > 0);
    expect(more.map((m) => m.entries.map((e) => e.index))).toEqual([[4, 5, 6]]);
  });

  it('in replicate the leader stops sending once maxInflightBytes are in flight', () => {
    const h = harness('a', ['a', 'b'], { ...noPreVote, maxInflightBytes: 100 });
    makeLeader(h, ['b']);
    h.core.step(ack('b', 'a', 1, 1));
    h.drain();
    const sent: AppendRequest[] = [];
    for (let i = 0; i < 4; i++) {
      h.core.propose(new Uint8Array(60));
      sent.push(...appendsTo(h.drain().messages, 'b').filter((m) => m.entries.length > 0));
    }
    // 60 bytes: room left; 120 bytes: full.
    expect(sent).toHaveLength(2);
    h.core.step(ack('b', 'a', 1, 3));
    const more = appendsTo(h.drain().messages, 'b').filter((m) => m.entries.length > 0);
    expect(more.map((m) => m.entries.map((e) => e.index))).toEqual([[4, 5]]);
  });

  it('append messages carry at most maxMessageBytes of entries, but always at least one', () => {
    const net = new Network(['a', 'b', 'c'], { config: { maxMessageBytes: 250, checkQuorum: false } });
    net.elect('a');
    net.isolate('b');
    for (let i = 0; i < 6; i++) net.core('a').propose(new Uint8Array(100));
    net.core('a').propose(new Uint8Array(1000));
    net.stabilize();
    net.heal();
    net.tickAll(3);
    const toB = net.delivered.filter((m): m is AppendRequest => m.type === 'append' && m.to === 'b' && m.entries.length > 0);
    for (const m of toB) {
      const bytes = m.entries.reduce((s, e) => s + e.data.byteLength, 0);
      expect(bytes <= 250 || m.entries.length === 1).toBe(true);
    }
    expect(toB.some((m) => m.entries.length === 2)).toBe(true);
    expect(net.logTerms('b')).toEqual(net.logTerms('a'));
  });
});

describe('snapshots (§7, minimal)', () => {
  it('§7 a follower that needs compacted entries receives a snapshot and then the rest of the log', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.isolate('c');
    for (let i = 0; i < 10; i++) net.propose('a', `v${i}`);
    const leader = net.node('a');
    const snapIndex = leader.core.status().applied - 2;
    leader.storage.createSnapshot(snapIndex, encode('state'));
    leader.storage.compact(snapIndex);
    net.heal();
    net.tickAll(25);
    expect(net.delivered.some((m) => m.type === 'snapshot' && m.to === 'c')).toBe(true);
    const c = net.node('c');
    expect(c.storage.firstIndex()).toBe(snapIndex + 1);
    expect(c.core.status().commit).toBe(leader.core.status().commit);
    expect(c.core.status().applied).toBe(leader.core.status().commit);
    expect(c.storage.lastIndex()).toBe(leader.storage.lastIndex());
    expect(net.core('a').status().progress?.get('c')?.state).toBe('replicate');
    // The snapshot carried no membership; c kept its own and can still lead.
    net.core('a').transferLeadership('c');
    net.stabilize();
    expect(net.leaders()).toEqual(['c']);
  });
});
