import { describe, expect, it } from 'vitest';
import { Suspicion } from '../../src/detection/suspicion.js';
import { suspicionTimeout, swimConfig, type SwimConfig } from '../../src/detection/swim-config.js';
import { SwimCore } from '../../src/detection/swim-core.js';
import type {
  AckMessage,
  MembershipUpdate,
  OutgoingSwimMessage,
  PingMessage,
  PushPullMessage,
  SwimEvent,
  SwimMessage,
} from '../../src/detection/swim-types.js';
import { SeededRandom } from '../../src/time/random.js';

interface Sent extends OutgoingSwimMessage {
  readonly at: number;
}

/** A lone core stepped by hand: we play every other member. */
class Harness {
  readonly core: SwimCore;
  readonly sent: Sent[] = [];
  readonly events: SwimEvent[] = [];
  now = 0;
  /** When true, every ping the core sends is acked at once, as by a healthy member. */
  answerPings = false;

  constructor(config: SwimConfig = swimConfig('lan'), seed = 1) {
    this.core = new SwimCore({ localId: 'a', config, random: new SeededRandom(seed), nowMs: 0 });
    this.#collect();
  }

  /** Makes the core learn of alive members (as from gossip by `via`). */
  know(ids: readonly string[], via = ids[0]!): void {
    const updates: MembershipUpdate[] = ids.map((node) => ({ kind: 'alive', node, incarnation: 0 }));
    this.receive(via, { type: 'gossip', updates });
  }

  receive(from: string, message: SwimMessage): void {
    this.core.receive(from, message, this.now);
    this.#collect();
  }

  /** Runs timers until `until`, one deadline at a time. */
  runUntil(until: number): void {
    for (;;) {
      const due = this.core.nextDeadline();
      if (due === undefined || due > until) break;
      this.now = Math.max(this.now, due);
      this.core.tick(this.now);
      this.#collect();
    }
    this.now = until;
  }

  /** Runs until the core sends a message matching `match`; returns it. */
  runUntilSent(match: (s: Sent) => boolean, limitMs = 60_000): Sent {
    const from = this.sent.length;
    const end = this.now + limitMs;
    for (;;) {
      const found = this.sent.slice(from).find(match);
      if (found !== undefined) return found;
      const due = this.core.nextDeadline();
      if (due === undefined || due > end) throw new Error('no such message');
      this.now = Math.max(this.now, due);
      this.core.tick(this.now);
      this.#collect();
    }
  }

  #collect(): void {
    while (this.core.hasOutput) {
      const { messages, events } = this.core.takeOutput();
      for (const m of messages) this.sent.push({ ...m, at: this.now });
      this.events.push(...events);
      if (!this.answerPings) continue;
      for (const { to, message } of messages) {
        if (message.type === 'ping') this.core.receive(to, { type: 'ack', seq: message.seq, updates: [] }, this.now);
      }
    }
  }
}

const isPing = (s: Sent): boolean => s.message.type === 'ping';

describe('SwimCore: probing (SWIM §3.1, §4.3)', () => {
  it('answers a ping addressed to it with an ack of the same seq, and ignores one for another node', () => {
    const h = new Harness();
    h.receive('b', { type: 'ping', seq: 7, target: 'a', updates: [] });
    h.receive('b', { type: 'ping', seq: 8, target: 'z', updates: [] });
    const acks = h.sent.filter((s) => s.message.type === 'ack');
    expect(acks).toHaveLength(1);
    expect(acks[0]).toMatchObject({ to: 'b', message: { type: 'ack', seq: 7 } });
  });

  it('probes every member once per round, in an order that changes between rounds', () => {
    const h = new Harness();
    const ids = ['b', 'c', 'd', 'e', 'f', 'g'];
    h.know(ids);
    const rounds: string[][] = [];
    for (let r = 0; r < 3; r++) {
      const round: string[] = [];
      for (let i = 0; i < ids.length; i++) {
        const ping = h.runUntilSent(isPing);
        const { seq } = ping.message as { seq: number };
        h.receive(ping.to, { type: 'ack', seq, updates: [] });
        round.push(ping.to);
      }
      rounds.push(round);
    }
    // The first round may start mid-list; later rounds are full permutations.
    for (const round of rounds.slice(1)) expect([...round].sort()).toEqual(ids);
    expect(rounds[1]).not.toEqual(rounds[2]);
  });

  it('relays a ping-req: pings the target and forwards its ack with the requester seq', () => {
    const h = new Harness();
    h.know(['b', 'c']);
    h.receive('b', { type: 'ping-req', seq: 41, target: 'c', wantNack: true, timeoutMs: 500, updates: [] });
    const ping = h.sent.find((s) => s.to === 'c' && s.message.type === 'ping')!;
    expect(ping.message).toMatchObject({ target: 'c' });
    h.receive('c', { type: 'ack', seq: (ping.message as { seq: number }).seq, updates: [] });
    expect(h.sent.at(-1)).toMatchObject({ to: 'b', message: { type: 'ack', seq: 41 } });
    // No nack after a successful relay.
    h.runUntil(h.now + 1000);
    expect(h.sent.some((s) => s.message.type === 'nack')).toBe(false);
  });

  it('sends a nack (Lifeguard) before the requester gives up when the target stays silent', () => {
    const h = new Harness();
    h.know(['b', 'c']);
    h.receive('b', { type: 'ping-req', seq: 5, target: 'c', wantNack: true, timeoutMs: 500, updates: [] });
    const start = h.now;
    const nack = h.runUntilSent((s) => s.message.type === 'nack');
    expect(nack).toMatchObject({ to: 'b', message: { type: 'nack', seq: 5 } });
    expect(nack.at - start).toBeLessThan(500);
  });

  it('still forwards an ack that comes after its nack but before the requester gives up (Lifeguard)', () => {
    // The nack only says "no answer yet"; the requester keeps waiting until
    // the end of its period, so a late ack is still worth forwarding. Dropping
    // it would make a Lifeguard relay less useful than a plain SWIM one.
    const h = new Harness();
    h.know(['b', 'c']);
    h.receive('b', { type: 'ping-req', seq: 7, target: 'c', wantNack: true, timeoutMs: 500, updates: [] });
    const start = h.now;
    const ping = h.sent.find((s) => s.to === 'c' && s.message.type === 'ping')!;
    h.runUntilSent((s) => s.message.type === 'nack');
    h.runUntil(start + 480);
    h.receive('c', { type: 'ack', seq: (ping.message as { seq: number }).seq, updates: [] });
    expect(h.sent.at(-1)).toMatchObject({ to: 'b', message: { type: 'ack', seq: 7 } });
  });

  it('stops forwarding once the requester has given up', () => {
    const h = new Harness();
    h.know(['b', 'c']);
    h.receive('b', { type: 'ping-req', seq: 8, target: 'c', wantNack: true, timeoutMs: 500, updates: [] });
    const start = h.now;
    const ping = h.sent.find((s) => s.to === 'c' && s.message.type === 'ping')!;
    h.runUntil(start + 600);
    const before = h.sent.length;
    h.receive('c', { type: 'ack', seq: (ping.message as { seq: number }).seq, updates: [] });
    expect(h.sent.slice(before).some((s) => s.message.type === 'ack' && s.to === 'b')).toBe(false);
  });

  it('an unanswered probe goes indirect after the probe timeout, then suspects the target at the end of the period', () => {
    const h = new Harness();
    h.know(['b', 'c', 'd', 'e']);
    const ping = h.runUntilSent(isPing);
    const seq = (ping.message as { seq: number }).seq;
    const reqs = (() => {
      h.runUntil(ping.at + 500);
      return h.sent.filter((s) => s.message.type === 'ping-req');
    })();
    expect(reqs).toHaveLength(3); // indirectChecks
    expect(new Set(reqs.map((r) => r.to)).has(ping.to)).toBe(false);
    for (const r of reqs) expect(r.message).toMatchObject({ seq, target: ping.to, wantNack: true });
    expect(h.core.member(ping.to)?.state).toBe('alive');
    h.runUntil(ping.at + 1000);
    expect(h.core.member(ping.to)?.state).toBe('suspect');
    expect(h.events).toContainEqual(expect.objectContaining({ type: 'suspect', member: expect.objectContaining({ id: ping.to }) }));
  });

  it('an ack relayed through a ping-req counts as success', () => {
    const h = new Harness();
    h.know(['b', 'c']);
    const ping = h.runUntilSent(isPing);
    const seq = (ping.message as { seq: number }).seq;
    h.runUntil(ping.at + 500);
    const relay = h.sent.find((s) => s.message.type === 'ping-req')!;
    h.receive(relay.to, { type: 'ack', seq, updates: [] });
    h.runUntil(ping.at + 1000);
    expect(h.core.member(ping.to)?.state).toBe('alive');
    expect(h.core.awareness).toBe(0);
  });
});

describe('SwimCore: Lifeguard local health (awareness)', () => {
  const many = Array.from({ length: 20 }, (_, i) => `m${i}`);

  it('rises on failed probes without nacks, up to max - 1, and stretches the probe timeout and interval', () => {
    const h = new Harness();
    h.know(many);
    const gaps: { score: number; timeout: number; period: number }[] = [];
    let lastPing: Sent | undefined;
    for (let i = 0; i < 6; i++) {
      const ping = h.runUntilSent(isPing);
      const score = h.core.awareness; // as it stood when this probe started
      if (lastPing !== undefined) gaps[gaps.length - 1]!.period = ping.at - lastPing.at;
      const req = h.runUntilSent((s) => s.message.type === 'ping-req');
      gaps.push({ score, timeout: req.at - ping.at, period: 0 });
      lastPing = ping;
    }
    expect(h.core.awareness).toBe(7);
    for (const g of gaps) expect(g.timeout).toBe(500 * (g.score + 1));
    for (const g of gaps.slice(0, -1)) expect(g.period).toBe(1000 * (g.score + 1));
    expect(h.core.probeTimeoutMs).toBe(500 * 8);
  });

  it('does not rise when every relay sends its nack: then the target, not this node, is at fault', () => {
    const h = new Harness();
    h.know(['b', 'c', 'd']);
    const ping = h.runUntilSent(isPing);
    const seq = (ping.message as { seq: number }).seq;
    h.runUntil(ping.at + 500);
    const relays = h.sent.filter((s) => s.message.type === 'ping-req').map((s) => s.to);
    expect(relays).toHaveLength(2);
    for (const relay of relays) h.receive(relay, { type: 'nack', seq });
    h.runUntil(ping.at + 1000);
    expect(h.core.member(ping.to)?.state).toBe('suspect');
    expect(h.core.awareness).toBe(0);
  });

  it('rises by the number of missing nacks, and falls on a successful probe', () => {
    const h = new Harness();
    h.know(['b', 'c', 'd']);
    const ping = h.runUntilSent(isPing);
    const seq = (ping.message as { seq: number }).seq;
    h.runUntil(ping.at + 500);
    const [relay] = h.sent.filter((s) => s.message.type === 'ping-req').map((s) => s.to);
    h.receive(relay!, { type: 'nack', seq });
    h.runUntil(ping.at + 999);
    const next = h.runUntilSent(isPing);
    expect(h.core.awareness).toBe(1);
    h.receive(next.to, { type: 'ack', seq: (next.message as { seq: number }).seq, updates: [] });
    expect(h.core.awareness).toBe(0);
  });

  it('rises when this node must refute a suspicion of itself', () => {
    const h = new Harness();
    h.know(['b']);
    h.receive('b', { type: 'gossip', updates: [{ kind: 'suspect', node: 'a', incarnation: 0, from: 'b' }] });
    expect(h.core.awareness).toBe(1);
  });

  it('stays off in plain SWIM mode: no scaling, no nacks requested', () => {
    const h = new Harness(swimConfig('lan', { lifeguard: false }));
    h.know(many);
    for (let i = 0; i < 3; i++) {
      const ping = h.runUntilSent(isPing);
      const req = h.runUntilSent((s) => s.message.type === 'ping-req');
      expect(req.at - ping.at).toBe(500);
      expect(req.message).toMatchObject({ wantNack: false });
    }
    expect(h.core.awareness).toBe(0);
  });
});

describe('SwimCore: suspicion and refutation (SWIM §4.2, Lifeguard §4.2)', () => {
  const members = ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k']; // N = 11 with a

  it('starts at max and shrinks logarithmically with independent confirmations, down to min', () => {
    const h = new Harness();
    h.know(members);
    h.now = 1000;
    const min = suspicionTimeout(4, 11, 1000);
    const max = 6 * min;
    const suspect = (from: string): void =>
      h.receive(from, { type: 'gossip', updates: [{ kind: 'suspect', node: 'b', incarnation: 0, from }] });
    suspect('c');
    expect(h.core.suspicion('b')).toEqual({ confirmations: 0, deadlineMs: 1000 + max });
    suspect('c'); // the accuser again: not independent
    expect(h.core.suspicion('b')?.confirmations).toBe(0);
    suspect('d');
    const expected = new Suspicion({ from: 'c', expectedConfirmations: 2, minMs: min, maxMs: max, startMs: 1000 });
    expected.confirm('d');
    const afterOne = h.core.suspicion('b')!;
    expect(afterOne.confirmations).toBe(1);
    expect(afterOne.deadlineMs).toBe(expected.deadlineMs);
    expect(afterOne.deadlineMs).toBeLessThan(1000 + max);
    expect(afterOne.deadlineMs).toBeGreaterThan(1000 + min);
    suspect('d'); // duplicate confirmation
    expect(h.core.suspicion('b')?.confirmations).toBe(1);
    suspect('e');
    expect(h.core.suspicion('b')?.deadlineMs).toBe(1000 + min);
    // Confirmations are re-gossiped so others can count them.
    const gossiped = h.sent.flatMap((s) => ('updates' in s.message ? s.message.updates : []));
    expect(gossiped.length === 0 || gossiped.some((u) => u.kind === 'suspect')).toBe(true);
    h.runUntil(1000 + min - 1);
    expect(h.core.member('b')?.state).toBe('suspect');
    h.runUntil(1000 + min);
    expect(h.core.member('b')?.state).toBe('dead');
  });

  it('uses the fixed minimum timeout in plain SWIM mode', () => {
    const h = new Harness(swimConfig('lan', { lifeguard: false }));
    h.know(members);
    h.receive('c', { type: 'gossip', updates: [{ kind: 'suspect', node: 'b', incarnation: 0, from: 'c' }] });
    expect(h.core.suspicion('b')?.deadlineMs).toBe(suspicionTimeout(4, 11, 1000));
  });

  it('a stale alive does not clear a suspicion; an alive with a higher incarnation does', () => {
    const h = new Harness();
    h.know(members);
    h.receive('c', { type: 'gossip', updates: [{ kind: 'suspect', node: 'b', incarnation: 0, from: 'c' }] });
    h.receive('d', { type: 'gossip', updates: [{ kind: 'alive', node: 'b', incarnation: 0 }] });
    expect(h.core.member('b')?.state).toBe('suspect');
    h.receive('b', { type: 'gossip', updates: [{ kind: 'alive', node: 'b', incarnation: 1 }] });
    expect(h.core.member('b')).toMatchObject({ state: 'alive', incarnation: 1 });
    expect(h.core.suspicion('b')).toBeUndefined();
    // An old suspicion (lower incarnation) is ignored now.
    h.receive('c', { type: 'gossip', updates: [{ kind: 'suspect', node: 'b', incarnation: 0, from: 'c' }] });
    expect(h.core.member('b')?.state).toBe('alive');
  });

  it('a member refutes suspicion and death notices about itself by raising its incarnation', () => {
    const h = new Harness();
    h.know(['b', 'c']);
    h.receive('b', { type: 'gossip', updates: [{ kind: 'suspect', node: 'a', incarnation: 0, from: 'b' }] });
    expect(h.core.incarnation).toBe(1);
    expect(h.core.member('a')?.state).toBe('alive');
    h.receive('c', { type: 'gossip', updates: [{ kind: 'dead', node: 'a', incarnation: 1, from: 'c' }] });
    expect(h.core.incarnation).toBe(2);
    expect(h.events.filter((e) => e.type === 'refuted').map((e) => (e as { incarnation: number }).incarnation)).toEqual([1, 2]);
    // The refutation rides on the next message.
    h.receive('b', { type: 'ping', seq: 1, target: 'a', updates: [] });
    const ack = h.sent.at(-1)!.message as AckMessage;
    expect(ack.updates).toContainEqual({ kind: 'alive', node: 'a', incarnation: 2 });
  });

  it('buddy system: a ping to a suspect carries the suspicion first (Lifeguard), plain SWIM does not', () => {
    for (const lifeguard of [true, false]) {
      const h = new Harness(swimConfig('lan', { lifeguard }), 4);
      h.know(['b', 'c']);
      h.receive('c', { type: 'gossip', updates: [{ kind: 'suspect', node: 'b', incarnation: 0, from: 'c' }] });
      // Let gossip exhaust the queued copy so only the buddy mechanism can carry it.
      h.runUntil(h.now + 2000);
      expect(h.core.pendingUpdates).toBe(0);
      const ping = h.runUntilSent((s) => isPing(s) && s.to === 'b');
      const updates = (ping.message as PingMessage).updates;
      if (lifeguard) expect(updates[0]).toEqual({ kind: 'suspect', node: 'b', incarnation: 0, from: 'a' });
      else expect(updates.some((u) => u.kind === 'suspect' && u.node === 'b')).toBe(false);
    }
  });
});

describe('SwimCore: dissemination, anti-entropy, leave', () => {
  it('piggybacks each update at most retransmitMult · ceil(log10(N+1)) times', () => {
    const h = new Harness();
    h.know(['b', 'c', 'd']); // N = 4 → limit 4 · 1 = 4
    h.runUntil(20_000);
    const copies = h.sent
      .flatMap((s) => ('updates' in s.message ? s.message.updates : []))
      .filter((u) => u.kind === 'alive' && u.node === 'c');
    expect(copies).toHaveLength(4);
  });

  it('answers a push-pull with its full state and merges the remote one (dead becomes suspect)', () => {
    const h = new Harness();
    h.know(['b', 'x']);
    h.receive('b', {
      type: 'push-pull',
      reply: false,
      join: false,
      members: [
        { id: 'b', incarnation: 0, state: 'alive' },
        { id: 'c', incarnation: 3, state: 'alive' },
        { id: 'x', incarnation: 0, state: 'dead' },
        { id: 'y', incarnation: 0, state: 'dead' },
      ],
    });
    expect(h.core.member('c')).toMatchObject({ state: 'alive', incarnation: 3 });
    expect(h.core.member('x')?.state).toBe('suspect');
    expect(h.core.member('y')).toBeUndefined();
    const reply = h.sent.find((s) => s.message.type === 'push-pull')!;
    expect(reply.to).toBe('b');
    expect(reply.message).toMatchObject({ reply: true });
    const ids = (reply.message as PushPullMessage).members.map((m) => m.id).sort();
    expect(ids).toEqual(['a', 'b', 'c', 'x']);
  });

  it('runs push-pull with a random member every interval', () => {
    const h = new Harness(swimConfig('lan', { pushPullIntervalMs: 5000 }));
    h.answerPings = true;
    h.know(['b', 'c']);
    h.runUntil(20_000);
    const requests = h.sent.filter((s) => s.message.type === 'push-pull' && !s.message.reply);
    expect(requests.length).toBeGreaterThanOrEqual(3);
    expect(requests.length).toBeLessThanOrEqual(4);
  });

  it('join sends a push-pull to each seed and reports the first answer', () => {
    const h = new Harness();
    h.core.join(['s1', 's2', 'a'], 0);
    h.receive('s1', { type: 'gossip', updates: [] });
    const sent = h.sent.filter((s) => s.message.type === 'push-pull');
    expect(sent.map((s) => s.to)).toEqual(['s1', 's2']);
    expect(sent[0]!.message).toMatchObject({ join: true, reply: false });
    h.receive('s2', { type: 'push-pull', reply: true, join: false, members: [{ id: 's2', incarnation: 0, state: 'alive' }] });
    expect(h.events.filter((e) => e.type === 'joined')).toEqual([{ type: 'joined', via: 's2', atMs: 0 }]);
    expect(h.core.member('s2')?.state).toBe('alive');
  });

  it('leave gossips `left`, stops probing, and reports when dissemination is done', () => {
    const h = new Harness();
    h.know(['b', 'c', 'd']);
    h.runUntil(3000);
    const pingsBefore = h.sent.filter(isPing).length;
    h.core.leave(h.now);
    expect(h.core.leaveDisseminated).toBe(false);
    h.runUntil(h.now + 10_000);
    expect(h.sent.filter(isPing).length).toBe(pingsBefore);
    const lefts = h.sent.flatMap((s) => ('updates' in s.message ? s.message.updates : [])).filter((u) => u.kind === 'left');
    expect(lefts.length).toBeGreaterThan(0);
    expect(h.core.leaveDisseminated).toBe(true);
  });

  it('records a member that left as left, and a later dead notice does not override it', () => {
    const h = new Harness();
    h.know(['b', 'c']);
    h.receive('b', { type: 'gossip', updates: [{ kind: 'left', node: 'b', incarnation: 0 }] });
    h.receive('c', { type: 'gossip', updates: [{ kind: 'dead', node: 'b', incarnation: 0, from: 'c' }] });
    expect(h.core.member('b')?.state).toBe('left');
    expect(h.events.filter((e) => e.type === 'left')).toHaveLength(1);
    expect(h.events.some((e) => e.type === 'dead')).toBe(false);
  });
});

describe('SwimCore: cost with 1000 members', () => {
  it('keeps per-message and per-tick work independent of N (no O(N²) per tick)', () => {
    const timeFor = (n: number): number => {
      const h = new Harness(swimConfig('lan'), 9);
      const ids = Array.from({ length: n - 1 }, (_, i) => `m${i}`);
      for (let i = 0; i < ids.length; i += 40) h.know(ids.slice(i, i + 40), 'm0');
      h.runUntil(5000); // drain the join burst
      // CPU time of this process, not wall time: other test files and other
      // programs on the machine take turns on the CPU, and wall time would
      // count their turns too.
      const start = process.cpuUsage();
      // 60 s of protocol, every ping answered, plus a stream of incoming gossip.
      for (let t = 5000; t < 65_000; t += 100) {
        h.runUntil(t);
        for (const s of h.sent.splice(0)) {
          if (s.message.type === 'ping') h.receive(s.to, { type: 'ack', seq: s.message.seq, updates: [] });
        }
        const id = ids[(t / 100) % ids.length]!;
        h.receive(id, { type: 'ping', seq: t, target: 'a', updates: [{ kind: 'alive', node: id, incarnation: t }] });
      }
      const used = process.cpuUsage(start);
      return (used.user + used.system) / 1000;
    };
    timeFor(100); // warm up the JIT
    // Best of three, so that garbage collection and JIT pauses add little noise.
    const best = (n: number): number => Math.min(timeFor(n), timeFor(n), timeFor(n));
    const small = best(100);
    const large = best(1000);
    // Allow for noise and the O(N) push-pull, but nothing near the 10× (or 100×) of O(N) (or O(N²)) per tick.
    expect(large).toBeLessThan(Math.max(100, small * 5));
  });
});
