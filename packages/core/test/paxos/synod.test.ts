import { describe, expect, it } from 'vitest';
import { compareBallots, nextBallot, ZERO_BALLOT } from '../../src/paxos/ballot.js';
import { quorumSizes, smallestFastQuorum } from '../../src/paxos/quorums.js';
import {
  ANY,
  fastPropose,
  initialAcceptorState,
  SynodAcceptor,
  SynodLearner,
  SynodProposer,
  type AcceptorState,
  type SynodMessage,
} from '../../src/paxos/synod.js';
import { InvalidArgumentError } from '../../src/errors/errors.js';

type Msg = SynodMessage<string>;

/**
 * A tiny network for the Synod roles: acceptors persist into `disk` before
 * their replies are queued, and `deliver` runs the queue (optionally
 * dropping or filtering messages).
 */
class SynodNet {
  readonly disk = new Map<string, AcceptorState<string>>();
  readonly acceptors = new Map<string, SynodAcceptor<string>>();
  readonly proposers = new Map<string, SynodProposer<string>>();
  readonly learners = new Map<string, SynodLearner<string>>();
  queue: Msg[] = [];
  sent = 0;

  constructor(readonly acceptorIds: string[], learnerIds: string[], quorums = {}) {
    for (const id of acceptorIds) this.acceptors.set(id, new SynodAcceptor(id, learnerIds));
    for (const id of learnerIds) this.learners.set(id, new SynodLearner({ acceptors: acceptorIds, quorums }));
  }

  send(messages: readonly Msg[]): void {
    this.sent += messages.length;
    this.queue.push(...messages);
  }

  /** Restarts an acceptor from what it persisted. */
  restart(id: string): void {
    this.acceptors.set(id, new SynodAcceptor(id, [...this.learners.keys()], this.disk.get(id) ?? initialAcceptorState));
  }

  deliver(filter: (m: Msg) => boolean = () => true, limit = 10_000): void {
    for (let i = 0; i < limit && this.queue.length > 0; i++) {
      const m = this.queue.shift()!;
      if (!filter(m)) continue;
      this.deliverOne(m);
    }
  }

  deliverOne(m: Msg): void {
    const acceptor = this.acceptors.get(m.to);
    if (acceptor !== undefined) {
      const out = acceptor.step(m);
      if (out.persist !== undefined) this.disk.set(m.to, out.persist);
      this.send(out.messages);
    }
    const proposer = this.proposers.get(m.to);
    if (proposer !== undefined) this.send(proposer.step(m));
    this.learners.get(m.to)?.step(m);
  }

  chosen(): (string | undefined)[] {
    return [...this.learners.values()].map((l) => l.chosen?.value);
  }
}

describe('ballots (Paxos Made Simple §2.2: proposal numbers are totally ordered)', () => {
  it('orders by round, then by node id', () => {
    expect(compareBallots({ round: 2, node: 'a' }, { round: 1, node: 'z' })).toBeGreaterThan(0);
    expect(compareBallots({ round: 1, node: 'b' }, { round: 1, node: 'a' })).toBeGreaterThan(0);
    expect(compareBallots({ round: 1, node: 'a' }, { round: 1, node: 'a' })).toBe(0);
    expect(compareBallots(ZERO_BALLOT, { round: 1, node: 'a' })).toBeLessThan(0);
  });

  it('nextBallot is above the given ballot and owned by the caller', () => {
    for (const above of [ZERO_BALLOT, { round: 3, node: 'b' }, { round: 3, node: 'a' }, { round: 3, node: 'c' }]) {
      const next = nextBallot(above, 'b');
      expect(next.node).toBe('b');
      expect(compareBallots(next, above)).toBeGreaterThan(0);
    }
  });
});

describe('quorum configuration (Flexible Paxos, Fast Paxos)', () => {
  it('defaults to majorities', () => {
    expect(quorumSizes(5)).toEqual({ phase1: 3, phase2: 3 });
  });

  it('accepts flexible quorums that intersect and refuses ones that may not', () => {
    expect(quorumSizes(5, { phase1: 4, phase2: 2 })).toEqual({ phase1: 4, phase2: 2 });
    expect(() => quorumSizes(5, { phase1: 3, phase2: 2 })).toThrow(InvalidArgumentError);
    expect(() => quorumSizes(4, { phase1: 2, phase2: 2 })).toThrow(/may not intersect/);
    expect(() => quorumSizes(3, { phase1: 0 })).toThrow(InvalidArgumentError);
  });

  it('checks the fast quorum against phase 1: phase1 + 2·fast > 2n', () => {
    expect(smallestFastQuorum(5)).toBe(4);
    expect(quorumSizes(5, { fast: 4 })).toEqual({ phase1: 3, phase2: 3, fast: 4 });
    expect(() => quorumSizes(5, { fast: 3 })).toThrow(/unsafe/);
  });
});

describe('acceptor rules (P1a, P2c, durability)', () => {
  const b = (round: number, node: string) => ({ round, node });

  it('promises a ballot at least its promise, persists it, and reports what it accepted', () => {
    const acceptor = new SynodAcceptor<string>('a1', []);
    const out = acceptor.step({ type: 'prepare', from: 'p', to: 'a1', ballot: b(1, 'p') });
    expect(out.persist?.promised).toEqual(b(1, 'p'));
    expect(out.messages).toEqual([{ type: 'promise', from: 'a1', to: 'p', ballot: b(1, 'p'), accepted: undefined }]);
  });

  it('refuses a prepare below its promise with the ballot to beat, and persists nothing', () => {
    const acceptor = new SynodAcceptor<string>('a1', []);
    acceptor.step({ type: 'prepare', from: 'q', to: 'a1', ballot: b(2, 'q') });
    const out = acceptor.step({ type: 'prepare', from: 'p', to: 'a1', ballot: b(1, 'p') });
    expect(out.persist).toBeUndefined();
    expect(out.messages).toEqual([{ type: 'nack', from: 'a1', to: 'p', ballot: b(1, 'p'), promised: b(2, 'q') }]);
  });

  it('refuses an accept below its promise and accepts one at or above it, persisting before it tells anyone', () => {
    const acceptor = new SynodAcceptor<string>('a1', ['l1']);
    acceptor.step({ type: 'prepare', from: 'q', to: 'a1', ballot: b(2, 'q') });
    const refused = acceptor.step({ type: 'accept', from: 'p', to: 'a1', ballot: b(1, 'p'), value: 'x', fast: false });
    expect(refused.messages[0]?.type).toBe('nack');
    expect(acceptor.state.accepted).toBeUndefined();
    const ok = acceptor.step({ type: 'accept', from: 'q', to: 'a1', ballot: b(2, 'q'), value: 'y', fast: false });
    expect(ok.persist?.accepted).toEqual({ ballot: b(2, 'q'), value: 'y', fast: false });
    expect(ok.messages.map((m) => m.to).sort()).toEqual(['l1', 'q']);
  });

  it('a restarted acceptor keeps its promise and its accepted value', () => {
    const net = new SynodNet(['a1'], []);
    net.deliverOne({ type: 'prepare', from: 'q', to: 'a1', ballot: b(5, 'q') });
    net.deliverOne({ type: 'accept', from: 'q', to: 'a1', ballot: b(5, 'q'), value: 'v', fast: false });
    net.restart('a1');
    const out = net.acceptors.get('a1')!.step({ type: 'prepare', from: 'p', to: 'a1', ballot: b(4, 'p') });
    expect(out.messages[0]?.type).toBe('nack');
    const promise = net.acceptors.get('a1')!.step({ type: 'prepare', from: 'p', to: 'a1', ballot: b(6, 'p') });
    expect(promise.messages[0]).toMatchObject({ type: 'promise', accepted: { value: 'v', ballot: b(5, 'q') } });
  });
});

describe('proposer and learner rules', () => {
  it('basic agreement: one proposer, every learner learns its value', () => {
    const net = new SynodNet(['a1', 'a2', 'a3'], ['l1', 'l2']);
    const p = new SynodProposer<string>({ id: 'p1', acceptors: net.acceptorIds });
    net.proposers.set('p1', p);
    net.send(p.propose('hello'));
    net.deliver();
    expect(net.chosen()).toEqual(['hello', 'hello']);
  });

  it('phase 1 adopts the value accepted with the highest ballot (P2c), not its own', () => {
    const net = new SynodNet(['a1', 'a2', 'a3'], ['l1']);
    // a1 accepted 'old' in ballot 1, a2 accepted 'newer' in ballot 2.
    net.deliverOne({ type: 'accept', from: 'x', to: 'a1', ballot: { round: 1, node: 'x' }, value: 'old', fast: false });
    net.deliverOne({ type: 'accept', from: 'y', to: 'a2', ballot: { round: 2, node: 'y' }, value: 'newer', fast: false });
    net.queue = [];
    const p = new SynodProposer<string>({ id: 'p', acceptors: net.acceptorIds });
    net.proposers.set('p', p);
    net.send(p.propose('mine'));
    net.deliver((m) => !(m.type === 'promise' && m.from === 'a3')); // the quorum is a1, a2
    // Ballot 1.p was below a2's promise: refused. The retry uses a ballot above it.
    net.send(p.retry());
    net.deliver((m) => !(m.type === 'promise' && m.from === 'a3'));
    expect(net.chosen()).toEqual(['newer']);
  });

  it('a learner does not learn from a minority, nor by adding up votes of different ballots', () => {
    const learner = new SynodLearner<string>({ acceptors: ['a1', 'a2', 'a3'] });
    learner.step({ type: 'accepted', from: 'a1', to: 'l', ballot: { round: 1, node: 'p' }, value: 'v', fast: false });
    expect(learner.chosen).toBeUndefined();
    learner.step({ type: 'accepted', from: 'a2', to: 'l', ballot: { round: 2, node: 'p' }, value: 'v', fast: false });
    expect(learner.chosen).toBeUndefined();
    learner.step({ type: 'accepted', from: 'zz', to: 'l', ballot: { round: 1, node: 'p' }, value: 'v', fast: false });
    expect(learner.chosen).toBeUndefined();
    learner.step({ type: 'accepted', from: 'a3', to: 'l', ballot: { round: 2, node: 'p' }, value: 'v', fast: false });
    expect(learner.chosen).toEqual({ value: 'v' });
  });

  it('dueling proposers: interleaved ballots preempt each other, then converge once one backs off', () => {
    const net = new SynodNet(['a1', 'a2', 'a3'], ['l1', 'l2', 'l3']);
    const p1 = new SynodProposer<string>({ id: 'p1', acceptors: net.acceptorIds });
    const p2 = new SynodProposer<string>({ id: 'p2', acceptors: net.acceptorIds });
    net.proposers.set('p1', p1);
    net.proposers.set('p2', p2);
    net.send(p1.propose('one'));
    net.deliver((m) => m.type === 'prepare' || m.type === 'promise');
    net.send(p2.propose('two'));
    net.deliver((m) => m.type === 'prepare' || m.type === 'promise');
    // p1's accepts now meet p2's higher promise: refused. Duel for a few rounds.
    for (let round = 0; round < 3; round++) {
      net.send(p1.retry());
      net.deliver((m) => m.type !== 'accept' || m.from === 'p1');
      net.send(p2.retry());
      net.deliver((m) => m.type !== 'accept' || m.from === 'p2');
    }
    net.deliver();
    // p2 backs off; p1 retries alone and the whole cluster agrees on one value.
    net.send(p1.retry());
    net.deliver();
    const chosen = net.chosen();
    expect(new Set(chosen).size).toBe(1);
    expect(['one', 'two']).toContain(chosen[0]);
  });

  it('serial agreement costs a bounded number of messages: 4n + n·L for n acceptors and L learners', () => {
    for (const n of [3, 5, 7]) {
      const ids = Array.from({ length: n }, (_, i) => `a${i}`);
      const net = new SynodNet(ids, ['l1']);
      const p = new SynodProposer<string>({ id: 'p', acceptors: ids });
      net.proposers.set('p', p);
      net.send(p.propose('v'));
      net.deliver();
      expect(net.chosen()).toEqual(['v']);
      // prepare n, promise n, accept n, accepted to the proposer n and to the learner n.
      expect(net.sent).toBeLessThanOrEqual(5 * n);
    }
  });
});

describe('Fast Paxos rounds', () => {
  const acceptors = ['a1', 'a2', 'a3', 'a4', 'a5'];
  const quorums = { fast: 4 };

  it('without contention a value is chosen in one fast round: the proposer talks to the acceptors directly', () => {
    const net = new SynodNet(acceptors, ['l1'], quorums);
    const coordinator = new SynodProposer<string>({ id: 'c', acceptors, quorums, fast: true });
    net.proposers.set('c', coordinator);
    net.send(coordinator.propose('unused'));
    net.deliver();
    expect(net.acceptors.get('a1')!.state.fastRound).toBeDefined();
    const before = net.sent;
    net.send(fastPropose('client', acceptors, 'fast-value'));
    net.deliver();
    expect(net.chosen()).toEqual(['fast-value']);
    // One message to each acceptor and their votes: two message delays, 2n + n·L messages.
    expect(net.sent - before).toBe(acceptors.length * 3);
    expect(coordinator.phase).toBe('done');
  });

  it('a collision (no value can reach a fast quorum) is recovered by a classic round that picks one of them', () => {
    const net = new SynodNet(acceptors, ['l1', 'l2'], quorums);
    const coordinator = new SynodProposer<string>({ id: 'c', acceptors, quorums, fast: true });
    net.proposers.set('c', coordinator);
    net.send(coordinator.propose('unused'));
    net.deliver();
    // Two clients race: a1..a3 see X first, a4..a5 see Y first.
    for (const m of [...fastPropose('cx', acceptors.slice(0, 3), 'X'), ...fastPropose('cy', acceptors.slice(3), 'Y')]) net.deliverOne(m);
    for (const m of [...fastPropose('cy', acceptors.slice(0, 3), 'Y'), ...fastPropose('cx', acceptors.slice(3), 'X')]) net.deliverOne(m);
    net.deliver();
    expect(coordinator.collisions).toBe(1);
    const chosen = net.chosen();
    expect(chosen[0]).toBeDefined();
    expect(new Set(chosen).size).toBe(1);
    // X had 3 votes: with 5 - 3 = 2 acceptors unheard it might have reached 4... it did not, but it is the safe pick.
    expect(['X', 'Y']).toContain(chosen[0]);
  });

  it('recovery keeps a value that may have been chosen in the fast round', () => {
    const net = new SynodNet(acceptors, ['l1'], quorums);
    const coordinator = new SynodProposer<string>({ id: 'c', acceptors, quorums, fast: true });
    net.proposers.set('c', coordinator);
    net.send(coordinator.propose('unused'));
    net.deliver();
    // X reaches a fast quorum (a1..a4), but only a1's vote arrives anywhere before the fast round is abandoned.
    for (const m of fastPropose('cx', acceptors.slice(0, 4), 'X')) net.deliverOne(m);
    for (const m of fastPropose('cy', ['a5'], 'Y')) net.deliverOne(m);
    net.queue = [];
    // A second coordinator takes over with a classic round and a quorum of a3, a4, a5.
    const other = new SynodProposer<string>({ id: 'd', acceptors, quorums });
    net.proposers.set('d', other);
    net.send(other.propose('Z'));
    net.deliver((m) => !(m.type === 'promise' && (m.from === 'a1' || m.from === 'a2')));
    expect(net.chosen()).toEqual(['X']);
  });

  it('an acceptor votes once per fast round and ignores fast proposals outside one', () => {
    const acceptor = new SynodAcceptor<string>('a1', []);
    expect(acceptor.step({ type: 'fast-propose', from: 'c', to: 'a1', value: 'X' }).messages).toEqual([]);
    acceptor.step({ type: 'accept', from: 'c', to: 'a1', ballot: { round: 1, node: 'c' }, value: ANY, fast: true });
    expect(acceptor.step({ type: 'fast-propose', from: 'c', to: 'a1', value: 'X' }).persist?.accepted?.value).toBe('X');
    expect(acceptor.step({ type: 'fast-propose', from: 'c', to: 'a1', value: 'Y' }).messages).toEqual([]);
    expect(acceptor.state.accepted?.value).toBe('X');
  });
});

describe('Fast Paxos collision scenario over random interleavings', () => {
  it('two racing clients in 300 random orders: learners always agree, and collisions are recovered', async () => {
    const { SeededRandom } = await import('../../src/time/random.js');
    const acceptors = ['a1', 'a2', 'a3', 'a4', 'a5'];
    let collisions = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const random = new SeededRandom(seed);
      const net = new SynodNet(acceptors, ['l1', 'l2', 'l3'], { fast: 4 });
      const coordinator = new SynodProposer<string>({ id: 'c', acceptors, quorums: { fast: 4 }, fast: true });
      net.proposers.set('c', coordinator);
      net.send(coordinator.propose('fallback'));
      net.deliver();
      net.send([...fastPropose('x', acceptors, 'X'), ...fastPropose('y', acceptors, 'Y')]);
      // Deliver in a random order, until quiet.
      while (net.queue.length > 0) {
        const [m] = net.queue.splice(random.int(net.queue.length), 1);
        net.deliverOne(m!);
      }
      const chosen = net.chosen();
      expect(chosen[0]).toBeDefined();
      expect(new Set(chosen).size).toBe(1);
      expect(['X', 'Y']).toContain(chosen[0]);
      collisions += coordinator.collisions;
    }
    expect(collisions).toBeGreaterThan(0);
  });
});
