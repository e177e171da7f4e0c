import { describe, expect, it } from 'vitest';
import { CorruptionError, InvalidArgumentError, NotLeaderError } from '../../src/errors/errors.js';
import { MultiPaxosCore } from '../../src/paxos/multi-paxos-core.js';
import { encodeVoters } from '../../src/paxos/membership.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { SeededRandom } from '../../src/time/random.js';
import { PaxosCluster, text } from './paxos-cluster.js';

const ids = ['n1', 'n2', 'n3'];

function elected(cluster = new PaxosCluster(ids)): PaxosCluster {
  cluster.core('n1').campaign();
  cluster.settle();
  return cluster;
}

describe('Multi-Paxos core: leadership and phases', () => {
  it('a node whose election timeout passes runs phase 1 and leads; followers learn the no-op it commits', () => {
    const cluster = new PaxosCluster(ids);
    cluster.tick(25);
    const leader = cluster.leader();
    expect(leader).toBeDefined();
    for (const id of ids) expect(cluster.core(id).status().commit).toBeGreaterThanOrEqual(1);
    expect(cluster.core(leader!).status().ballot.node).toBe(leader);
  });

  it('proposals are chosen in slot order and every replica applies the same sequence', () => {
    const cluster = elected();
    for (const v of ['a', 'b', 'c']) cluster.core('n1').propose('normal', text(v));
    cluster.settle();
    cluster.tick(1); // a heartbeat carries the final commit
    for (const id of ids) expect(cluster.appliedText(id)).toEqual(['', 'a', 'b', 'c']);
  });

  it('only the leader takes proposals: others throw NotLeaderError with a hint', () => {
    const cluster = elected();
    cluster.tick(1);
    expect(() => cluster.core('n2').propose('normal', text('x'))).toThrow(NotLeaderError);
    try {
      cluster.core('n2').propose('normal', text('x'));
    } catch (error) {
      expect((error as NotLeaderError).leaderHint).toBe('n1');
    }
  });

  it('phase 1 runs once for all slots from the first unchosen one: later proposals go straight to phase 2', () => {
    const cluster = elected();
    cluster.sent = [];
    for (let i = 0; i < 20; i++) {
      cluster.core('n1').propose('normal', text(`v${i}`));
      cluster.settle();
    }
    expect(cluster.sent.filter((m) => m.type === 'prepare')).toEqual([]);
  });

  it('serial agreement with a stable leader costs 2(n-1) messages per command (accept and accepted)', () => {
    for (const n of [3, 5]) {
      const names = Array.from({ length: n }, (_, i) => `n${i + 1}`);
      const cluster = elected(new PaxosCluster(names));
      cluster.sent = [];
      const commands = 50;
      for (let i = 0; i < commands; i++) {
        cluster.core('n1').propose('normal', text(`v${i}`));
        cluster.settle();
      }
      expect(cluster.core('n1').status().commit).toBe(commands + 1);
      expect(cluster.sent.length / commands).toBe(2 * (n - 1));
    }
  });

  it('phase 2 is pipelined within the window: beyond it, slots wait until earlier ones are chosen', () => {
    const cluster = elected(new PaxosCluster(ids, { window: 4 }));
    cluster.drop = (m) => m.type === 'accepted'; // nothing gets chosen
    cluster.sent = [];
    for (let i = 0; i < 10; i++) cluster.core('n1').propose('normal', text(`v${i}`));
    cluster.settle();
    const slots = new Set(cluster.sent.flatMap((m) => (m.type === 'accept' ? m.entries.map((e) => e.slot) : [])));
    expect(Math.max(...slots)).toBe(1 + 4); // commit is 1 (the no-op), window 4
    cluster.drop = () => false;
    cluster.tick(3);
    expect(cluster.core('n1').status().commit).toBe(11);
  });
});

describe('Multi-Paxos core: takeover', () => {
  it('a new leader re-proposes the highest-ballot value of each slot and fills gaps with no-ops', () => {
    const cluster = new PaxosCluster(['n1', 'n2', 'n3']);
    const n1 = cluster.core('n1');
    n1.campaign();
    const ballot = n1.status().ballot;
    // Promises as n2 and n3 would send them: slot 2 holds 'old' (ballot 1.n2) at n2 and 'new' (ballot 2.n3)
    // at n3; slot 3 holds nothing anywhere; slot 4 holds 'z' at n3.
    const accepted = (slot: number, round: number, node: string, value: string) => ({ slot, ballot: { round, node }, type: 'normal' as const, data: text(value) });
    n1.step({ type: 'promise', from: 'n2', to: 'n1', ballot, fromSlot: 1, accepted: [accepted(2, 1, 'n2', 'old')], commit: 0, compactedTo: 0 });
    n1.step({ type: 'promise', from: 'n3', to: 'n1', ballot, fromSlot: 1, accepted: [accepted(2, 2, 'n3', 'new'), accepted(4, 2, 'n3', 'z')], commit: 0, compactedTo: 0 });
    expect(n1.status().role).toBe('leader');
    const ready = n1.ready();
    const accept = ready.messages.find((m) => m.type === 'accept' && m.to === 'n2');
    expect(accept?.type === 'accept' && accept.entries.map((e) => [e.slot, new TextDecoder().decode(e.data)])).toEqual([
      [1, ''],
      [2, 'new'],
      [3, ''],
      [4, 'z'],
    ]);
  });

  it('a value chosen under an old leader survives every later takeover', () => {
    const cluster = elected();
    cluster.core('n1').propose('normal', text('kept'));
    cluster.drop = (m) => m.type === 'accept' && m.to === 'n3'; // chosen by n1 and n2
    cluster.settle();
    cluster.cores.delete('n1');
    cluster.drop = (m) => m.from === 'n2' && m.type === 'promise'; // n3 leads without n2's promise? it cannot: needs 2 of 3
    cluster.core('n3').campaign();
    cluster.settle();
    expect(cluster.core('n3').status().role).toBe('candidate');
    cluster.drop = () => false;
    cluster.core('n3').campaign();
    cluster.settle();
    cluster.tick(1, ['n3']);
    expect(cluster.appliedText('n3')).toEqual(['', 'kept']);
  });

  it('dueling candidates: the lower ballot is refused and steps down; one leader results', () => {
    const cluster = new PaxosCluster(ids);
    cluster.core('n1').campaign();
    cluster.core('n2').campaign();
    cluster.settle();
    cluster.tick(40);
    const leaders = ids.filter((id) => cluster.core(id).status().role === 'leader');
    expect(leaders).toHaveLength(1);
  });
});

describe('Multi-Paxos core: learning, durability, configuration', () => {
  it('a replica that missed chosen values catches up from the leader', () => {
    const cluster = elected();
    cluster.drop = (m) => m.to === 'n3' || m.from === 'n3';
    for (let i = 0; i < 30; i++) cluster.core('n1').propose('normal', text(`v${i}`));
    cluster.settle();
    expect(cluster.core('n3').status().commit).toBeLessThan(31);
    cluster.drop = () => false;
    cluster.tick(3);
    expect(cluster.core('n3').status().commit).toBe(31);
    expect(cluster.appliedText('n3')).toEqual(cluster.appliedText('n1'));
  });

  it('an acceptor restarted from storage keeps its promise and accepted values', () => {
    const cluster = elected();
    cluster.drop = (m) => m.type === 'accepted';
    cluster.core('n1').propose('normal', text('pending'));
    cluster.settle();
    cluster.restart('n2');
    const status = cluster.core('n2').status();
    expect(status.promised).toEqual(cluster.core('n1').status().ballot);
    expect(status.lastSlot).toBe(2);
  });

  it('a value proposed in place is stored without a copy, in the same form as a copied one, and survives a restart', () => {
    const cluster = elected();
    const leader = cluster.core('n1');
    const headroom = leader.storageHeadroom!;
    expect(headroom).toBe(1 + 'n1'.length);
    const buffer = new Uint8Array(headroom + 3);
    buffer.set(text('abc'), headroom);
    const slot = leader.proposeInPlace('normal', buffer, headroom);
    leader.propose('normal', text('abc'));
    cluster.settle();
    cluster.tick(1);
    const stored = cluster.storages.get('n1')!.entries(slot, slot + 2);
    expect(stored[0]!.data).toBe(buffer); // the proposer's own bytes, prefixed with its ballot
    expect([...stored[0]!.data]).toEqual([...stored[1]!.data]);
    for (const id of ids) expect(cluster.appliedText(id).slice(-2)).toEqual(['abc', 'abc']);
    cluster.restart('n2');
    cluster.restart('n1');
    expect(cluster.core('n1').status().lastSlot).toBe(slot + 1);
  });

  it('a value proposed in place with the wrong headroom, or off the leader, is handled like propose', () => {
    const cluster = elected();
    const buffer = new Uint8Array(5);
    buffer.set(text('xyz'), 2);
    expect(() => cluster.core('n2').proposeInPlace('normal', buffer, 2)).toThrow(NotLeaderError);
    cluster.core('n1').proposeInPlace('normal', buffer, 2); // 'n1' needs 3 bytes: copied instead
    cluster.settle();
    cluster.tick(1);
    for (const id of ids) expect(cluster.appliedText(id).at(-1)).toBe('xyz');
  });

  it('refuses quorum sizes that may not intersect', () => {
    expect(() => new MultiPaxosCore({ id: 'n1', voters: ['n1', 'n2', 'n3', 'n4'], quorums: { phase1: 2, phase2: 2 } }, new MemoryStorage(), new SeededRandom(1))).toThrow(
      InvalidArgumentError,
    );
  });

  it('flexible quorums: with phase 2 = 2 of 5 a leader commits while three acceptors are unreachable', () => {
    const names = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const cluster = new PaxosCluster(names, { quorums: { phase1: 4, phase2: 2 } });
    cluster.core('n1').campaign();
    cluster.settle();
    cluster.drop = (m) => ['n3', 'n4', 'n5'].includes(m.to);
    cluster.core('n1').propose('normal', text('fast'));
    cluster.settle();
    expect(cluster.core('n1').status().commit).toBe(2);
  });

  it('membership goes through the log: a chosen configuration changes the voters everywhere', () => {
    const cluster = elected();
    cluster.core('n1').propose('conf-change', encodeVoters(['n1', 'n2']));
    cluster.core('n1').propose('normal', text('after'));
    cluster.settle();
    cluster.tick(2);
    for (const id of ['n1', 'n2']) expect(cluster.core(id).status().voters).toEqual(['n1', 'n2']);
    expect(() => cluster.core('n1').propose('conf-change', new Uint8Array([1]))).toThrow();
  });
});

describe('Multi-Paxos core: applied values leave memory, storage keeps them', () => {
  /** n1 leads; `count` values are chosen by n1 and n2 and applied there, n3 heard none of them. */
  function chosenWithoutN3(count: number): PaxosCluster {
    const cluster = elected();
    cluster.drop = (m) => m.to === 'n3' || m.from === 'n3';
    for (let i = 0; i < count; i++) cluster.core('n1').propose('normal', text(`v${i}`));
    cluster.settle();
    cluster.tick(1, ['n1']); // the heartbeat tells n2 the commit
    cluster.drop = () => false;
    return cluster;
  }

  it("a lagging candidate's phase 1 hears the applied values, which the acceptors read back from storage", () => {
    const cluster = chosenWithoutN3(5);
    expect(cluster.core('n2').status().commit).toBe(6);
    expect(cluster.appliedText('n2')).toHaveLength(6);
    const n2Storage = cluster.storages.get('n2')!;
    const reads: [number, number][] = [];
    const entries = n2Storage.entries.bind(n2Storage);
    n2Storage.entries = (lo, hi, maxBytes) => {
      reads.push([lo, hi]);
      return entries(lo, hi, maxBytes);
    };
    cluster.cores.delete('n1'); // n3 must take over from n2's promise alone
    cluster.core('n3').campaign();
    cluster.settle();
    expect(cluster.core('n3').status().role).toBe('leader');
    expect(reads).toContainEqual([1, 7]); // slots 1..6 came from storage, not from memory
    cluster.tick(1, ['n3']);
    expect(cluster.appliedText('n3').slice(0, 6)).toEqual(['', 'v0', 'v1', 'v2', 'v3', 'v4']);
  });

  it('catch-up serves applied values from storage, cut to maxBytesPerMessage', () => {
    const cluster = new PaxosCluster(ids, { maxBytesPerMessage: 4 });
    elected(cluster);
    cluster.drop = (m) => m.to === 'n3' || m.from === 'n3';
    for (let i = 0; i < 10; i++) cluster.core('n1').propose('normal', text(`v${i}`));
    cluster.settle();
    cluster.drop = () => false;
    cluster.sent = [];
    cluster.tick(3);
    expect(cluster.appliedText('n3')).toEqual(cluster.appliedText('n1'));
    const learns = cluster.sent.filter((m) => m.type === 'learn' && m.to === 'n3' && m.entries.length > 0);
    expect(learns.length).toBeGreaterThan(1);
    for (const m of learns) if (m.type === 'learn') expect(m.entries.length).toBeLessThanOrEqual(2); // 2-byte values, 4 bytes a message
  });

  it('an acceptor whose storage lost applied values refuses to answer phase 1 (CorruptionError) rather than report less', () => {
    const cluster = chosenWithoutN3(3);
    const n2Storage = cluster.storages.get('n2')!;
    n2Storage.entries = () => {
      throw new Error('disk gone');
    };
    const ballot = { round: 99, node: 'n3' };
    expect(() => cluster.core('n2').step({ type: 'prepare', from: 'n3', to: 'n2', ballot, fromSlot: 1 })).toThrow(CorruptionError);
  });
});

describe('Multi-Paxos core: message entries as the wire carries them', () => {
  it("an accept's entries have slot, type and data as their own fields (the ballot is the message's); promise entries own their ballot", () => {
    const cluster = elected();
    cluster.drop = (m) => m.to === 'n3' || m.from === 'n3';
    cluster.core('n1').propose('normal', text('v'));
    cluster.sent = [];
    cluster.settle();
    const accept = cluster.sent.find((m) => m.type === 'accept' && m.entries.length > 0);
    expect(accept?.type).toBe('accept');
    if (accept?.type !== 'accept') return;
    for (const entry of accept.entries) {
      expect(Object.keys(entry).sort()).toEqual(['data', 'slot', 'type']);
      expect((entry as { ballot?: unknown }).ballot).toEqual(accept.ballot);
    }
    cluster.drop = () => false;
    cluster.sent = [];
    cluster.core('n3').campaign();
    cluster.settle();
    const promise = cluster.sent.find((m) => m.type === 'promise' && m.from === 'n2');
    if (promise?.type !== 'promise') throw new Error('no promise from n2');
    expect(promise.accepted.length).toBeGreaterThan(0);
    for (const value of promise.accepted) expect(Object.keys(value).sort()).toEqual(['ballot', 'data', 'slot', 'type']);
  });
});
