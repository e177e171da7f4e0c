import { describe, expect, it } from 'vitest';
import { RaftCore } from '../../src/raft/raft-core.js';
import type { HeartbeatRequest, RaftMessage } from '../../src/raft/types.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { SeededRandom } from '../../src/time/random.js';
import { Network } from './network.js';

/*
 * Issue 11, item 1: lease reads were stale in two cases, and the lease was
 * measured in ticks, which an event-loop stall stretches. Every test here
 * failed before the fix (see each comment).
 */

const lease = { leaseReads: true, electionTicks: 10, heartbeatTicks: 1, maxClockDriftRatio: 0.1 } as const;

/** True when `id` answers a lease read at once, without a heartbeat round (its lease holds). */
function servesLeaseRead(net: Network, id: string, context: string): boolean {
  const core = net.core(id);
  if (core.status().role !== 'leader') return false;
  core.readIndex(context, 'lease');
  const rd = core.ready();
  core.advance(rd);
  net.queue.push(...rd.messages);
  return rd.readStates.some((r) => r.context === context);
}

/** Nodes other than `old` that lead in a later term. */
function newerLeaders(net: Network, old: string): string[] {
  const term = net.core(old).status().term;
  return net.leaders().filter((id) => id !== old && net.core(id).status().term > term);
}

describe('lease reads stay safe (issue 11, item 1)', () => {
  it('followers that campaign early (campaign() or a detector) cannot elect a leader while the old lease holds', () => {
    // Before the fix: b's PreVote was refused and left b without a leader,
    // so it granted c's PreVote and vote; c led in term 2 while a still
    // served lease reads in term 1.
    const net = new Network(['a', 'b', 'c'], { config: lease });
    net.elect('a');
    net.tickAll(1); // heartbeats acknowledged: a's lease holds
    expect(servesLeaseRead(net, 'a', 'start')).toBe(true);
    net.isolate('a');
    for (let round = 0; round < 12; round++) {
      for (const id of ['b', 'c']) {
        net.core(id).campaign();
        net.stabilize();
      }
      const leaseHolds = servesLeaseRead(net, 'a', `r${round}`);
      if (leaseHolds) expect(newerLeaders(net, 'a')).toEqual([]);
      net.tickAll(1);
    }
    // Once the lease is over, the followers do elect a new leader.
    net.tickAll(30);
    expect(newerLeaders(net, 'a').length).toBe(1);
  });

  it('a follower that lost its PreVote still refuses to vote while it heard from the leader within the election timeout', () => {
    // Before the fix the pre-candidate forgot its leader and voted for anyone.
    const net = new Network(['a', 'b', 'c'], { config: { ...lease, preVote: true } });
    net.elect('a');
    net.tickAll(1);
    net.isolate('a');
    net.core('b').campaign();
    net.stabilize();
    const b = net.core('b');
    const term = b.status().term;
    b.step({ type: 'vote', from: 'c', to: 'b', term: term + 1, lastLogIndex: 10, lastLogTerm: term, leadershipTransfer: false });
    const rd = b.ready();
    b.advance(rd);
    expect(rd.messages.filter((m) => m.type === 'vote-response' && !m.reject)).toEqual([]);
    expect(b.status().vote).not.toBe('c');
  });

  it('after an abandoned transfer whose TimeoutNow still won, the old leader serves no lease read for the rest of its term', () => {
    // Before the fix the lease became valid again from heartbeats acked
    // during the transfer, and a served a lease read after c led in term 2.
    const net = new Network(['a', 'b', 'c'], { config: lease });
    net.elect('a');
    net.tickAll(1);
    let held: RaftMessage | undefined;
    net.filter = (m) => {
      if (m.type !== 'timeout-now') return true;
      held = m;
      return false;
    };
    net.core('a').transferLeadership('c');
    net.stabilize();
    expect(held).toBeDefined();
    net.tickAll(lease.electionTicks); // the transfer is abandoned; heartbeats keep being acknowledged
    expect(net.core('a').status()).toMatchObject({ role: 'leader', leadTransferee: undefined });
    net.filter = undefined;
    net.isolate('a');
    // Deliver the late TimeoutNow to c directly: c campaigns with the transfer flag and wins.
    net.core('c').step(held!);
    net.stabilize();
    expect(newerLeaders(net, 'a')).toEqual(['c']);
    expect(servesLeaseRead(net, 'a', 'after-transfer')).toBe(false);
  });

  it('measures the lease with the driver clock, so an event-loop stall does not stretch it', () => {
    // Before the fix the lease counted ticks: after a 900 ms stall the
    // leader had seen one tick and still trusted its 900 ms lease.
    let now = 0;
    const clock = { now: () => now, tickIntervalMs: 100 };
    const storage = new MemoryStorage();
    const core = new RaftCore({ id: 'a', voters: ['a', 'b', 'c'], preVote: false, ...lease }, storage, new SeededRandom(1), clock);
    const drain = (): RaftMessage[] => {
      const out: RaftMessage[] = [];
      while (core.hasReady()) {
        const rd = core.ready();
        if (rd.entries.length > 0) storage.append(rd.entries);
        if (rd.hardState !== undefined) storage.setHardState(rd.hardState);
        out.push(...rd.messages);
        core.advance(rd);
      }
      return out;
    };
    const leaseRead = (context: string): boolean => {
      core.readIndex(context, 'lease');
      const rd = core.ready();
      core.advance(rd);
      return rd.readStates.some((r) => r.context === context);
    };
    core.campaign();
    drain();
    core.step({ type: 'vote-response', from: 'b', to: 'a', term: 1, reject: false });
    drain();
    core.step({ type: 'append-response', from: 'b', to: 'a', term: 1, reject: false, index: 1, rejectHint: 0, logTerm: 0 });
    drain();
    now = 100;
    core.tick();
    const hb = drain().find((m): m is HeartbeatRequest => m.type === 'heartbeat' && m.to === 'b');
    core.step({ type: 'heartbeat-response', from: 'b', to: 'a', term: 1, context: hb!.context });
    drain();
    expect(leaseRead('fresh')).toBe(true);
    now = 950; // 850 ms after the acknowledged heartbeat was sent: the lease (900 ms) holds
    expect(leaseRead('late-but-ok')).toBe(true);
    now = 1000; // the event loop stalled: no tick ran since, yet 900 ms have passed
    expect(core.status().role).toBe('leader');
    expect(leaseRead('after-stall')).toBe(false);
  });

  it('a restarted voter neither votes nor campaigns within an election timeout when lease reads are on', () => {
    // Before the fix a restarted node knew no leader and voted at once, while
    // the leader it had acknowledged before the crash still trusted its lease.
    const net = new Network(['a', 'b', 'c'], { config: lease });
    net.elect('a');
    net.tickAll(1);
    net.isolate('a');
    net.restart('b');
    const b = net.core('b');
    const term = b.status().term;
    expect(term).toBeGreaterThan(0);
    const ask = (): boolean => {
      b.step({ type: 'vote', from: 'c', to: 'b', term: term + 1, lastLogIndex: 100, lastLogTerm: term, leadershipTransfer: false });
      const rd = b.ready();
      b.advance(rd);
      return rd.messages.some((m) => m.type === 'vote-response' && !m.reject);
    };
    b.campaign();
    expect(b.status().role).toBe('follower');
    for (let tick = 0; tick < lease.electionTicks - 1; tick++) {
      expect(ask()).toBe(false);
      b.tick();
      b.advance(b.ready());
    }
    b.tick();
    expect(ask()).toBe(true);
  });

  it('without lease reads a restarted voter votes at once (nothing to protect)', () => {
    const net = new Network(['a', 'b', 'c'], { config: { electionTicks: 10 } });
    net.elect('a');
    net.tickAll(1);
    net.restart('b');
    const b = net.core('b');
    const term = b.status().term;
    b.step({ type: 'vote', from: 'c', to: 'b', term: term + 1, lastLogIndex: 100, lastLogTerm: term, leadershipTransfer: false });
    expect(b.ready().messages.some((m) => m.type === 'vote-response' && !m.reject)).toBe(true);
  });
});
