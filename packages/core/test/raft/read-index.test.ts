import { afterEach, describe, expect, it } from 'vitest';
import { NotLeaderError } from '../../src/errors/errors.js';
import { internalTestMutations, resetInternalTestMutations } from '../../src/internal/test-mutations.js';
import type { HeartbeatRequest, RaftMessage } from '../../src/raft/types.js';
import { harness } from './helpers.js';
import { Network } from './network.js';

describe('ReadIndex (thesis §6.4)', () => {
  it('§6.4 the leader answers a safe read only after a quorum acknowledged a heartbeat round carrying it', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.propose('a', 'x');
    const a = net.core('a');
    a.readIndex('r1');
    net.flush('a');
    expect(net.node('a').readStates).toEqual([]);
    const heartbeats = net.queue.filter((m): m is HeartbeatRequest => m.type === 'heartbeat');
    expect(heartbeats.map((m) => m.to)).toEqual(['b', 'c']);
    expect(heartbeats.every((m) => m.context !== '')).toBe(true);
    net.stabilize();
    expect(net.node('a').readStates).toEqual([{ index: a.status().commit, context: 'r1' }]);
  });

  it('§6.4 a leader cut off in a minority never answers a read; it drops it when it steps down', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.isolate('a');
    net.core('a').readIndex('r1');
    // CheckQuorum deposes it within two election timeouts (the first check
    // still sees the acks from before the partition).
    for (let i = 0; i < 20 && net.core('a').status().role === 'leader'; i++) {
      net.tick('a');
      expect(net.node('a').readStates).toEqual([]);
    }
    expect(net.core('a').status().role).toBe('follower');
    expect(net.node('a').readStates).toEqual([]);
    expect(net.node('a').droppedReads).toEqual(['r1']);
  });

  it('§6.4 step 1: a new leader answers reads only once an entry of its term is committed', () => {
    const h = harness('a', ['a', 'b', 'c'], { preVote: false });
    h.core.campaign();
    h.drain();
    h.core.step({ type: 'vote-response', from: 'b', to: 'a', term: 1, reject: false });
    h.drain();
    h.core.readIndex('early');
    const before = h.drain().messages;
    expect(before.some((m) => m.type === 'heartbeat' && m.context !== '')).toBe(false);
    h.core.step({ type: 'append-response', from: 'b', to: 'a', term: 1, reject: false, index: 1, rejectHint: 0, logTerm: 0 });
    const after = h.drain().messages;
    const round = after.find((m): m is HeartbeatRequest => m.type === 'heartbeat' && m.context !== '');
    expect(round).toBeDefined();
    h.core.step({ type: 'heartbeat-response', from: 'c', to: 'a', term: 1, context: round!.context });
    const { readies } = h.drain();
    expect(readies.flatMap((r) => r.readStates)).toEqual([{ index: 1, context: 'early' }]);
  });

  it('§6.4 a follower forwards the read and gets the leader read index back', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.propose('a', 'x');
    net.core('b').readIndex('fr');
    net.stabilize();
    expect(net.delivered.some((m) => m.type === 'read-index' && m.from === 'b' && m.to === 'a')).toBe(true);
    expect(net.node('b').readStates).toEqual([{ index: net.core('a').status().commit, context: 'fr' }]);
  });

  it('a follower without a known leader refuses reads with NotLeaderError', () => {
    const h = harness('b', ['a', 'b', 'c']);
    expect(() => h.core.readIndex('r')).toThrow(NotLeaderError);
  });

  it('a forwarded read is dropped when the follower loses its leader', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.isolate('a');
    net.core('b').readIndex('lost');
    net.stabilize();
    net.heal();
    net.partition(['a'], ['b', 'c']);
    for (let i = 0; i < 50 && !net.leaders().some((id) => id !== 'a'); i++) net.tickAll();
    expect(net.node('b').droppedReads).toEqual(['lost']);
  });

  it('a forwarded read whose answer was lost is forgotten when the caller gives up, and a late answer is ignored', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.propose('a', 'x');
    const b = net.core('b');
    // The request is lost on the way and the leader stays the same, so
    // nothing but the caller can retire it.
    net.filter = (m) => m.type !== 'read-index';
    b.readIndex('given-up');
    net.stabilize();
    net.filter = undefined;
    b.forgetRead('given-up');
    b.step({ type: 'read-index-response', from: 'a', to: 'b', term: 0, context: 'given-up', index: 5, reject: false });
    net.stabilize();
    expect(net.node('b').readStates).toEqual([]);
    // Had b kept it, losing its leader would report it dropped now.
    net.partition(['a'], ['b', 'c']);
    for (let i = 0; i < 50 && !net.leaders().some((id) => id !== 'a'); i++) net.tickAll();
    expect(net.leaders().some((id) => id !== 'a')).toBe(true);
    expect(net.node('b').droppedReads).toEqual([]);
  });

  it('a read sent to a node that is not the leader comes back rejected and is reported dropped', () => {
    const h = harness('b', ['a', 'b', 'c']);
    h.core.step({ type: 'heartbeat', from: 'a', to: 'b', term: 1, commit: 0, context: '' });
    h.drain();
    h.core.readIndex('r');
    h.drain();
    h.core.step({ type: 'read-index-response', from: 'a', to: 'b', term: 0, context: 'r', index: 0, reject: true });
    const { readies } = h.drain();
    expect(readies.flatMap((r) => r.droppedReads)).toEqual(['r']);
  });

  it('a single-node leader answers at once, without any messages', () => {
    const net = new Network(['a']);
    net.elect('a');
    const a = net.core('a');
    a.readIndex('solo');
    const rd = a.ready();
    expect(rd.messages).toEqual([]);
    expect(rd.readStates).toEqual([{ index: a.status().commit, context: 'solo' }]);
    a.advance(rd);
  });

  it('lost heartbeat rounds are retried by later heartbeats', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.isolate('a');
    net.core('a').readIndex('retry');
    net.stabilize();
    net.heal();
    net.tick('a', 1);
    expect(net.node('a').readStates.map((r) => r.context)).toEqual(['retry']);
  });
});

/** The heartbeats among `messages` that carry a read round (a non-empty key). */
function readRounds(messages: readonly RaftMessage[]): HeartbeatRequest[] {
  return messages.filter((m): m is HeartbeatRequest => m.type === 'heartbeat' && !m.context.startsWith('@') && m.context !== '');
}

describe('ReadIndex: one heartbeat round in flight (issue 14)', () => {
  afterEach(() => resetInternalTestMutations());

  it('reads that arrive while a round is on its way share the next round, sent once that one is confirmed', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.propose('a', 'x');
    const a = net.core('a');
    a.readIndex('r1');
    net.flush('a');
    const first = readRounds(net.queue);
    expect(first.map((m) => m.to)).toEqual(['b', 'c']);
    a.readIndex('r2');
    a.readIndex('r3');
    net.flush('a');
    // No second round while the first is on its way.
    expect(readRounds(net.queue)).toHaveLength(2);
    // The first round's heartbeats arrive and are answered; its confirmation sends the next round.
    net.deliverOnce();
    expect(net.node('a').readStates).toEqual([]);
    net.deliverOnce();
    expect(net.node('a').readStates.map((r) => r.context)).toEqual(['r1']);
    const second = readRounds(net.queue);
    expect(second.map((m) => m.to)).toEqual(['b', 'c']);
    expect(second[0]!.context).not.toBe(first[0]!.context);
    net.stabilize();
    expect(net.node('a').readStates.map((r) => r.context)).toEqual(['r1', 'r2', 'r3']);
    expect(readRounds(net.delivered)).toHaveLength(4);
  });

  it('§6.4 a round that left before a read arrived never answers it, even when its acknowledgements come back after a new leader committed', () => {
    const staleRead = (): { answered: string[]; dropped: string[]; staleIndex: number; newCommit: number; afterIndex: number | undefined } => {
      const net = new Network(['a', 'b', 'c']);
      net.elect('a');
      net.propose('a', 'x');
      const a = net.core('a');
      a.readIndex('before');
      net.flush('a');
      // b and c answer the round, but the answers are held up on the way back to a.
      net.deliverOnce();
      const heldAnswers = net.queue.filter((m) => m.type === 'heartbeat-response');
      expect(heldAnswers).toHaveLength(2);
      net.queue = [];
      // Meanwhile a is cut off (its clock stands still), b or c is elected and commits a write that a never sees.
      net.isolate('a');
      const newLeader = (): string | undefined => net.leaders().find((id) => id !== 'a');
      for (let i = 0; i < 50 && newLeader() === undefined; i++) {
        net.core('b').tick();
        net.core('c').tick();
        net.stabilize();
      }
      const successor = newLeader()!;
      expect(successor).toBeDefined();
      net.propose(successor, 'y');
      const staleIndex = a.status().commit;
      expect(net.core(successor).status().commit).toBeGreaterThan(staleIndex);
      // a still believes it leads; a read arrives, then the old round's answers.
      expect(a.status().role).toBe('leader');
      a.readIndex('after');
      for (const answer of heldAnswers) a.step(answer);
      net.flush('a');
      net.queue = [];
      net.heal();
      net.tickAll(3);
      const states = net.node('a').readStates;
      return {
        answered: states.map((r) => r.context),
        dropped: net.node('a').droppedReads,
        staleIndex,
        newCommit: net.core(successor).status().commit,
        afterIndex: states.find((r) => r.context === 'after')?.index,
      };
    };
    const safe = staleRead();
    // The early read is rightly answered: a quorum confirmed a's leadership after it arrived.
    expect(safe.answered).toEqual(['before']);
    expect(safe.dropped).toEqual(['after']);
    // The scenario has teeth: with the bug, the late read is answered at the stale commit index.
    internalTestMutations.readJoinsRoundInFlight = true;
    const mutated = staleRead();
    expect(mutated.answered).toEqual(['before', 'after']);
    expect(mutated.afterIndex).toBe(mutated.staleIndex);
    expect(mutated.afterIndex).toBeLessThan(mutated.newCommit);
  });

  it('§6.4 step 1: the reads a new leader queued before its first commit share one round', () => {
    const h = harness('a', ['a', 'b', 'c'], { preVote: false });
    h.core.campaign();
    h.drain();
    h.core.step({ type: 'vote-response', from: 'b', to: 'a', term: 1, reject: false });
    h.drain();
    for (const context of ['e1', 'e2', 'e3']) h.core.readIndex(context);
    h.drain();
    h.core.step({ type: 'append-response', from: 'b', to: 'a', term: 1, reject: false, index: 1, rejectHint: 0, logTerm: 0 });
    const rounds = readRounds(h.drain().messages);
    expect(rounds.map((m) => m.to)).toEqual(['b', 'c']);
    h.core.step({ type: 'heartbeat-response', from: 'c', to: 'a', term: 1, context: rounds[1]!.context });
    const { readies } = h.drain();
    expect(readies.flatMap((r) => r.readStates)).toEqual([
      { index: 1, context: 'e1' },
      { index: 1, context: 'e2' },
      { index: 1, context: 'e3' },
    ]);
  });

  it('when the round in flight is lost, the next regular heartbeat serves the reads waiting behind it too', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.propose('a', 'x');
    const a = net.core('a');
    net.filter = (m) => m.type !== 'heartbeat-response';
    a.readIndex('lost');
    net.stabilize();
    a.readIndex('waiting');
    net.flush('a');
    expect(readRounds(net.queue)).toEqual([]);
    net.filter = undefined;
    net.tick('a', 1);
    expect(net.node('a').readStates.map((r) => r.context)).toEqual(['lost', 'waiting']);
  });

  it('100 reads arriving one by one during rounds cost a round per round trip, not one each', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.propose('a', 'x');
    const a = net.core('a');
    // A read arrives before every delivery step: the rounds overlap them all.
    for (let i = 0; i < 100; i++) {
      a.readIndex(`r${i}`);
      net.flush('a');
      net.deliverOnce();
    }
    net.stabilize();
    expect(net.node('a').readStates).toHaveLength(100);
    // A round takes two delivery steps (heartbeat, answer): about 50 rounds of 2 heartbeats rather than 100.
    expect(readRounds(net.delivered).length).toBeLessThanOrEqual(102);
  });

  it('an echo of a key from an earlier term, or of a key never issued, confirms nothing', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.propose('a', 'x');
    const a = net.core('a');
    a.readIndex('r');
    net.flush('a');
    const term = a.status().term;
    for (const key of [`${term - 1}.1`, `${term}.99`, `${term}1.1`, 'junk']) {
      for (const from of ['b', 'c']) a.step({ type: 'heartbeat-response', from, to: 'a', term, context: key });
    }
    net.flush('a');
    expect(net.node('a').readStates).toEqual([]);
    net.stabilize();
    expect(net.node('a').readStates.map((r) => r.context)).toEqual(['r']);
  });
});

describe('lease reads (thesis §6.4.1)', () => {
  const lease = { leaseReads: true, electionTicks: 10, maxClockDriftRatio: 0.1 } as const;

  it('§6.4.1 while the lease holds the leader answers a lease read without a heartbeat round', () => {
    const net = new Network(['a', 'b', 'c'], { config: lease });
    net.elect('a');
    net.tickAll(1); // heartbeat acks establish quorum contact
    const a = net.core('a');
    a.readIndex('fast', 'lease');
    const rd = a.ready();
    expect(rd.messages).toEqual([]);
    expect(rd.readStates).toEqual([{ index: a.status().commit, context: 'fast' }]);
    a.advance(rd);
  });

  it('§6.4.1 once the lease has expired a lease read falls back to a heartbeat round', () => {
    const net = new Network(['a', 'b', 'c'], { config: lease });
    net.elect('a');
    net.tickAll(1);
    net.isolate('a');
    // 9 ticks without quorum contact: lease (10 * 0.9 = 9 ticks) expired, CheckQuorum (10) not yet.
    net.tick('a', 9);
    const a = net.core('a');
    expect(a.status().role).toBe('leader');
    a.readIndex('slow', 'lease');
    const rd = a.ready();
    expect(rd.readStates).toEqual([]);
    expect(rd.messages.some((m) => m.type === 'heartbeat' && m.context !== '')).toBe(true);
    a.advance(rd);
  });

  it('§6.4.1 the lease holds through 8 silent ticks', () => {
    const net = new Network(['a', 'b', 'c'], { config: lease });
    net.elect('a');
    net.tickAll(1);
    net.isolate('a');
    net.tick('a', 8);
    net.core('a').readIndex('ok', 'lease');
    net.flush('a');
    expect(net.node('a').readStates.map((r) => r.context)).toEqual(['ok']);
  });

  it('a lease read without leaseReads configured runs the safe heartbeat round', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.tickAll(1);
    const a = net.core('a');
    a.readIndex('safe', 'lease');
    const rd = a.ready();
    expect(rd.readStates).toEqual([]);
    expect(rd.messages.some((m) => m.type === 'heartbeat' && m.context !== '')).toBe(true);
    a.advance(rd);
  });

  it('no lease reads during a leadership transfer (TimeoutNow overrides the followers lease)', () => {
    const net = new Network(['a', 'b', 'c'], { config: lease });
    net.elect('a');
    net.tickAll(1);
    net.isolate('c');
    net.core('a').transferLeadership('c');
    net.stabilize();
    const a = net.core('a');
    a.readIndex('during-transfer', 'lease');
    const rd = a.ready();
    expect(rd.readStates).toEqual([]);
    a.advance(rd);
  });

  it('§6.4.1 the lease counts from when the acknowledged heartbeat was sent, so a late answer does not stretch it', () => {
    const h = harness('a', ['a', 'b', 'c'], { preVote: false, ...lease });
    h.core.campaign();
    h.drain();
    h.core.step({ type: 'vote-response', from: 'b', to: 'a', term: 1, reject: false });
    h.drain();
    h.core.step({ type: 'append-response', from: 'b', to: 'a', term: 1, reject: false, index: 1, rejectHint: 0, logTerm: 0 });
    h.drain();
    h.core.tick(); // tick 1: heartbeats go out
    const hb = h.drain().messages.find((m): m is HeartbeatRequest => m.type === 'heartbeat' && m.to === 'b');
    for (let i = 0; i < 5; i++) h.core.tick(); // tick 6
    h.drain();
    // b's answer to the tick-1 heartbeat arrives only now.
    h.core.step({ type: 'heartbeat-response', from: 'b', to: 'a', term: 1, context: hb!.context });
    h.drain();
    const leaseRead = (context: string): boolean => {
      h.core.readIndex(context, 'lease');
      return h.drain().readies.some((r) => r.readStates.some((s) => s.context === context));
    };
    expect(leaseRead('at-6')).toBe(true);
    for (let i = 0; i < 3; i++) h.core.tick(); // tick 9: 8 ticks after the send
    expect(leaseRead('at-9')).toBe(true);
    h.core.tick(); // tick 10: 9 ticks after the send; the lease is over
    expect(h.core.status().role).toBe('leader');
    expect(leaseRead('at-10')).toBe(false);
  });
});
