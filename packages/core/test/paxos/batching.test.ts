import { describe, expect, it } from 'vitest';
import type { PaxosAccept, PaxosAccepted, PaxosMessage } from '../../src/paxos/types.js';
import { MultiPaxosNode } from '../../src/paxos/multi-paxos-node.js';
import { StoredSlot } from '../../src/paxos/slot-entry.js';
import type { StateMachine } from '../../src/state-machine/state-machine.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { SeededRandom } from '../../src/time/random.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import type { Envelope, EnvelopeHandler, Transport } from '../../src/transport/transport.js';
import { PaxosCluster, text } from './paxos-cluster.js';

/**
 * The batching rules of Multi-Paxos phase 2: proposals that arrive together
 * leave as one accept per acceptor and one durable write per node; an
 * acceptor acknowledges a batch only once it is durable; the leader counts
 * its own acceptance only after its own write; and a new leader recovers
 * batches that reached some acceptors only in part.
 */

const ids = ['n1', 'n2', 'n3'];
const decoder = new TextDecoder();

function elected(cluster = new PaxosCluster(ids)): PaxosCluster {
  cluster.core('n1').campaign();
  cluster.settle();
  cluster.tick(1);
  return cluster;
}

describe('Multi-Paxos batching: the core', () => {
  it('proposals made together go out as one accept per acceptor, and are persisted in one write', () => {
    const cluster = elected();
    const n1 = cluster.core('n1');
    const slots = ['a', 'b', 'c', 'd', 'e'].map((v) => n1.propose('normal', text(v)));
    const ready = n1.ready();
    expect(ready.entries.map((e) => e.index)).toEqual(slots);
    const accepts = ready.messages.filter((m): m is PaxosAccept => m.type === 'accept');
    expect(accepts.map((m) => m.to).sort()).toEqual(['n2', 'n3']);
    for (const accept of accepts) expect(accept.entries.map((e) => e.slot)).toEqual(slots);
  });

  it('a batch is cut before its values pass maxBytesPerMessage (a value larger than that still goes, alone)', () => {
    const cluster = elected(new PaxosCluster(ids, { maxBytesPerMessage: 100 }));
    const n1 = cluster.core('n1');
    const sizes = [60, 30, 60, 250, 10];
    for (const size of sizes) n1.propose('normal', new Uint8Array(size));
    const accepts = n1.ready().messages.filter((m): m is PaxosAccept => m.type === 'accept' && m.to === 'n2');
    expect(accepts.map((m) => m.entries.map((e) => e.data.byteLength))).toEqual([[60, 30], [60], [250], [10]]);
  });

  it('messages per command fall with the batch size: a batch of 64 costs 2(n-1) messages, not 64 times that', () => {
    const cluster = elected();
    cluster.sent = [];
    for (let i = 0; i < 64; i++) cluster.core('n1').propose('normal', text(`v${i}`));
    cluster.settle();
    expect(cluster.core('n1').status().commit).toBe(1 + 64);
    expect(cluster.sent.length).toBe(2 * (ids.length - 1));
  });

  it('an acceptor persists a batch in the same Ready whose reply acknowledges it (the driver writes before sending)', () => {
    const cluster = elected();
    const n2 = cluster.core('n2');
    const ballot = cluster.core('n1').status().ballot;
    const from = n2.status().lastSlot + 1;
    const entries = [0, 1, 2].map((i) => ({ slot: from + i, type: 'normal' as const, data: text(`x${i}`) }));
    n2.step({ type: 'accept', from: 'n1', to: 'n2', ballot, entries, commit: 0 });
    const ready = n2.ready();
    const reply = ready.messages.find((m): m is PaxosAccepted => m.type === 'accepted');
    expect(reply?.slots).toEqual([from, from + 1, from + 2]);
    expect(ready.entries.map((e) => e.index)).toEqual([from, from + 1, from + 2]);
  });

  it("the leader counts its own acceptance of a batch only after the Ready that persists it (advance)", () => {
    const cluster = elected();
    const n1 = cluster.core('n1');
    const commit = n1.status().commit;
    const slot = n1.propose('normal', text('x'));
    const ready = n1.ready();
    // n2 accepted before the leader's own write is durable: one acceptance of the two needed.
    n1.step({ type: 'accepted', from: 'n2', to: 'n1', ballot: n1.status().ballot, slots: [slot], commit });
    expect(n1.status().commit).toBe(commit);
    n1.advance(ready);
    expect(n1.status().commit).toBe(slot);
  });

  it('an acceptor keeps the slot object of an accept in the same ballot (no copy in process), and makes its own otherwise', () => {
    const cluster = elected();
    const n2 = cluster.core('n2');
    const ballot = cluster.core('n1').status().ballot;
    const slot = n2.status().lastSlot + 1;
    const same = new StoredSlot(slot, ballot, 'normal', text('same'));
    n2.step({ type: 'accept', from: 'n1', to: 'n2', ballot, entries: [same], commit: 0 });
    const stale = new StoredSlot(slot + 1, { round: 0, node: 'n9' }, 'normal', text('other ballot'));
    n2.step({ type: 'accept', from: 'n1', to: 'n2', ballot, entries: [stale], commit: 0 });
    const ready = n2.ready();
    expect(ready.entries[0]).toBe(same.stored());
    // A slot object of another ballot is accepted anew, in the accept's ballot.
    expect(ready.entries[1]).not.toBe(stale.stored());
    expect(ready.entries[1]!.term).toBe(ballot.round);
  });
});

describe('Multi-Paxos batching: takeover with partially accepted batches', () => {
  it('a batch that reached one acceptor whole and another in part is recovered whole and in order by the next leader', () => {
    const cluster = elected();
    const n1 = cluster.core('n1');
    const first = n1.status().commit + 1;
    // One batch of four: n2 gets it whole, n3 only its first two slots, and no acceptance comes back.
    cluster.drop = (m) => m.type === 'accepted';
    const trimmed = (m: PaxosMessage): PaxosMessage =>
      m.type === 'accept' && m.to === 'n3' ? { ...m, entries: m.entries.filter((e) => e.slot < first + 2) } : m;
    for (const v of ['a', 'b', 'c', 'd']) n1.propose('normal', text(v));
    const ready = n1.ready();
    cluster.storages.get('n1')!.append(ready.entries);
    for (const m of ready.messages) cluster.core(m.to).step(trimmed(m));
    n1.advance(ready);
    cluster.settle();
    expect(cluster.core('n3').status().lastSlot).toBe(first + 1);
    expect(cluster.core('n2').status().lastSlot).toBe(first + 3);

    // n1 is gone; n3 takes over with n2's promise and must re-propose all four, in order.
    cluster.cores.delete('n1');
    cluster.drop = () => false;
    cluster.core('n3').campaign();
    cluster.settle();
    cluster.tick(2, ['n3']);
    expect(cluster.core('n3').status().role).toBe('leader');
    const chosen = cluster.appliedText('n3');
    expect(chosen.slice(first - 1, first + 3)).toEqual(['a', 'b', 'c', 'd']);
    expect(cluster.appliedText('n2').slice(first - 1, first + 3)).toEqual(['a', 'b', 'c', 'd']);
  });

  it("a batch held by the old leader and one acceptor survives a takeover that cannot hear that acceptor: the old leader's promise carries it", () => {
    const cluster = elected();
    const n1 = cluster.core('n1');
    const first = n1.status().commit + 1;
    cluster.drop = (m) => m.type === 'accepted' || (m.type === 'accept' && m.to === 'n3');
    for (const v of ['p', 'q']) n1.propose('normal', text(v));
    cluster.settle();
    // n2 holds the batch, n3 does not; n2 is cut off too, and n1 comes back as an acceptor only.
    cluster.drop = (m) => m.from === 'n2' || m.to === 'n2';
    cluster.core('n3').campaign();
    cluster.settle();
    cluster.tick(2, ['n3']);
    expect(cluster.core('n3').status().role).toBe('leader');
    // n1 accepted 'p' and 'q' itself: its promise carries them, and the takeover keeps them.
    expect(cluster.appliedText('n3').slice(first - 1, first + 1)).toEqual(['p', 'q']);
  });
});

/** A storage whose syncs wait until the test releases them. */
class GatedStorage extends MemoryStorage {
  readonly waiting: (() => void)[] = [];
  override sync(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

/** One node's end of a hand-driven network: what it sent, and a handler to deliver to. */
class RecordingTransport implements Transport {
  readonly maxMessageBytes = 1 << 20;
  readonly sent: Envelope[] = [];
  handler: EnvelopeHandler = () => undefined;
  constructor(readonly localId: string) {}
  send(_to: string, envelope: Envelope): void {
    this.sent.push(envelope);
  }
  setHandler(handler: EnvelopeHandler): void {
    this.handler = handler;
  }
  onUnreachable(): () => void {
    return () => undefined;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const noopMachine: StateMachine<Uint8Array, undefined, undefined, undefined> = {
  apply: () => undefined,
  query: () => undefined,
  snapshot: () => new Uint8Array(0),
  restore: () => undefined,
};

const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('Multi-Paxos batching: the node (persist before acknowledging)', () => {
  it("an acceptor's acknowledgement of a batch leaves only after its sync; the leader's accepts leave before its own", async () => {
    const clock = new VirtualClock();
    const make = (id: string) => {
      const storage = new GatedStorage();
      const transport = new RecordingTransport(id);
      const node = new MultiPaxosNode({
        paxos: { id, voters: ids },
        clusterId: 'c',
        transport,
        storage,
        stateMachine: noopMachine,
        clock,
        random: new SeededRandom(id.charCodeAt(1)),
        snapshots: false,
      });
      node.start();
      return { node, storage, transport };
    };
    const nodes = new Map(ids.map((id) => [id, make(id)]));
    const deliver = async (): Promise<void> => {
      for (let round = 0; round < 50; round++) {
        await flush();
        let moved = false;
        for (const { transport } of nodes.values()) {
          for (const envelope of transport.sent.splice(0)) {
            moved = true;
            nodes.get(envelope.to)!.transport.handler(envelope);
          }
        }
        for (const { storage } of nodes.values()) {
          if (storage.waiting.length > 0) moved = true;
          storage.release();
        }
        await flush();
        if (!moved) return;
      }
    };
    const n1 = nodes.get('n1')!;
    const election = n1.node.campaign({ timeoutMs: 60_000 });
    await deliver();
    await election;

    const proposals = ['a', 'b', 'c'].map((v) => n1.node.propose(text(v), { timeoutMs: 60_000 }));
    await flush();
    // The leader's accepts are out while its own sync is still pending.
    expect(n1.storage.waiting.length).toBe(1);
    const accepts = n1.transport.sent.splice(0).map((e) => e.payload as PaxosMessage);
    expect(accepts.filter((m) => m.type === 'accept').map((m) => m.to).sort()).toEqual(['n2', 'n3']);
    const batch = accepts.find((m): m is PaxosAccept => m.type === 'accept' && m.to === 'n2')!;
    expect(batch.entries.map((e) => decoder.decode(e.data).slice(-1))).toEqual(['a', 'b', 'c']);

    // n2 receives the batch: it writes it, and says nothing until the write is durable.
    const n2 = nodes.get('n2')!;
    n2.transport.handler({ clusterId: 'c', from: 'n1', to: 'n2', protocol: 'paxos', payload: batch });
    await flush();
    expect(n2.storage.waiting.length).toBe(1);
    expect(n2.transport.sent.filter((e) => (e.payload as PaxosMessage).type === 'accepted')).toEqual([]);
    n2.storage.release();
    await flush();
    const acks = n2.transport.sent.map((e) => e.payload as PaxosMessage).filter((m): m is PaxosAccepted => m.type === 'accepted');
    expect(acks).toHaveLength(1);
    expect(acks[0]!.slots).toEqual(batch.entries.map((e) => e.slot));

    // Everything flows: the three proposals are chosen and applied.
    await deliver();
    await Promise.all(proposals);
    expect(n1.node.status().commitIndex).toBe(batch.entries.at(-1)!.slot);
    for (const { node } of nodes.values()) await node.stop();
  });

  it('a change of the chosen prefix alone costs no sync', async () => {
    const storage = new GatedStorage();
    const transport = new RecordingTransport('n1');
    const node = new MultiPaxosNode({
      paxos: { id: 'n1', voters: ['n1'] },
      clusterId: 'c',
      transport,
      storage,
      stateMachine: noopMachine,
      clock: new VirtualClock(),
      snapshots: false,
    });
    node.start();
    const election = node.campaign({ timeoutMs: 60_000 });
    for (let i = 0; i < 5; i++) {
      await flush();
      storage.release();
    }
    await election;
    let syncs = 0;
    const proposal = node.propose(text('x'), { timeoutMs: 60_000 });
    for (let i = 0; i < 10; i++) {
      await flush();
      syncs += storage.waiting.length;
      storage.release();
    }
    await proposal;
    // One sync for the accepted value; choosing it (commit) rides along without one.
    expect(syncs).toBe(1);
    await node.stop();
  });
});
