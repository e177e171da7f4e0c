import { TransportClosedError, VirtualClock, type Envelope, type EnvelopeHandler, type NodeId, type Transport, type UnreachableListener } from '@synod/core';
import { describe, expect, it } from 'vitest';
import { createClusterHandlers, FaultInjectingTransport, LinkFaultHooks, serviceFailure, type KvRaftNode } from '../src/index.js';

/** A transport that records what is sent and lets the test deliver envelopes to the handler. */
class RecordingTransport implements Transport {
  readonly localId: NodeId;
  readonly maxMessageBytes = 1024;
  readonly sent: { to: NodeId; payload: unknown }[] = [];
  readonly unreachable: UnreachableListener[] = [];
  handler: EnvelopeHandler | undefined;
  closed = false;

  constructor(localId: NodeId) {
    this.localId = localId;
  }

  send(to: NodeId, envelope: Envelope): void {
    if (this.closed) throw new TransportClosedError();
    this.sent.push({ to, payload: envelope.payload });
  }

  setHandler(handler: EnvelopeHandler): void {
    this.handler = handler;
  }

  onUnreachable(listener: UnreachableListener): () => void {
    this.unreachable.push(listener);
    return () => undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** An envelope from `from` arrives. */
  deliver(from: NodeId, payload: unknown): void {
    this.handler?.({ clusterId: 'c', from, to: this.localId, protocol: 'raft', payload });
  }
}

function envelope(to: NodeId, payload: unknown): Envelope {
  return { clusterId: 'c', from: 'n1', to, protocol: 'raft', payload };
}

function setUp() {
  const clock = new VirtualClock();
  const inner = new RecordingTransport('n1');
  const faulty = new FaultInjectingTransport(inner, clock);
  const received: { from: NodeId; payload: unknown }[] = [];
  faulty.setHandler((env) => received.push({ from: env.from, payload: env.payload }));
  return { clock, inner, faulty, received };
}

describe('FaultInjectingTransport', () => {
  it('passes everything through untouched while no fault is set', () => {
    const { inner, faulty, received } = setUp();
    faulty.send('n2', envelope('n2', 1));
    inner.deliver('n2', 2);
    expect(inner.sent).toEqual([{ to: 'n2', payload: 1 }]);
    expect(received).toEqual([{ from: 'n2', payload: 2 }]);
    expect(faulty.localId).toBe('n1');
    expect(faulty.maxMessageBytes).toBe(1024);
  });

  it('drops what goes to and comes from a cut peer, and only that peer, until healed', () => {
    const { inner, faulty, received } = setUp();
    faulty.setFaults([{ peerId: 'n2', drop: true, delayMs: 0 }]);
    faulty.send('n2', envelope('n2', 'lost out'));
    faulty.send('n3', envelope('n3', 'kept out'));
    inner.deliver('n2', 'lost in');
    inner.deliver('n3', 'kept in');
    expect(inner.sent.map((s) => s.payload)).toEqual(['kept out']);
    expect(received.map((r) => r.payload)).toEqual(['kept in']);
    expect(faulty.dropped).toBe(2);
    expect(faulty.setFaults([])).toEqual([]);
    faulty.send('n2', envelope('n2', 'after heal'));
    inner.deliver('n2', 'after heal in');
    expect(inner.sent.map((s) => s.payload)).toEqual(['kept out', 'after heal']);
    expect(received.map((r) => r.payload)).toEqual(['kept in', 'after heal in']);
  });

  it('holds messages to and from a delayed peer for exactly the delay, in order, on the injected clock', () => {
    const { clock, inner, faulty, received } = setUp();
    faulty.setFaults([{ peerId: 'n2', drop: false, delayMs: 200 }]);
    faulty.send('n2', envelope('n2', 'a'));
    clock.advance(50);
    faulty.send('n2', envelope('n2', 'b'));
    inner.deliver('n2', 'x');
    faulty.send('n3', envelope('n3', 'fast'));
    expect(inner.sent.map((s) => s.payload)).toEqual(['fast']);
    expect(received).toEqual([]);
    expect(faulty.held).toBe(3);
    clock.advance(149);
    expect(inner.sent.map((s) => s.payload)).toEqual(['fast']);
    clock.advance(1); // t = 200: 'a' is due
    expect(inner.sent.map((s) => s.payload)).toEqual(['fast', 'a']);
    clock.advance(50); // t = 250: 'b' and 'x'
    expect(inner.sent.map((s) => s.payload)).toEqual(['fast', 'a', 'b']);
    expect(received.map((r) => r.payload)).toEqual(['x']);
    expect(faulty.held).toBe(0);
  });

  it('delivers a held message to the handler in place when it arrives, as SWIM beside Raft replaces the node\'s', () => {
    const { clock, inner, faulty } = setUp();
    faulty.setFaults([{ peerId: 'n2', drop: false, delayMs: 10 }]);
    inner.deliver('n2', 'late');
    const router: unknown[] = [];
    faulty.setHandler((env) => router.push(env.payload));
    clock.advance(10);
    expect(router).toEqual(['late']);
  });

  it('drops held messages on close, and refuses sends after it', async () => {
    const { clock, inner, faulty, received } = setUp();
    faulty.setFaults([{ peerId: 'n2', drop: false, delayMs: 100 }]);
    faulty.send('n2', envelope('n2', 'held'));
    inner.deliver('n2', 'held in');
    await faulty.close();
    expect(inner.closed).toBe(true);
    expect(clock.pendingTimers).toBe(0);
    clock.advance(1_000);
    expect(inner.sent).toEqual([]);
    expect(received).toEqual([]);
    expect(() => faulty.send('n3', envelope('n3', 'late'))).toThrow(TransportClosedError);
  });

  it('counts a held message the inner transport then refuses as dropped instead of throwing into a timer', async () => {
    const { clock, inner, faulty } = setUp();
    faulty.setFaults([{ peerId: 'n2', drop: false, delayMs: 100 }]);
    faulty.send('n2', envelope('n2', 'held'));
    await inner.close(); // the inner one closes under the wrapper
    clock.advance(100);
    expect(faulty.dropped).toBe(1);
  });

  it('reports the faults in effect, leaves out no-op ones and refuses bad ones without changing anything', () => {
    const { faulty } = setUp();
    expect(
      faulty.setFaults([
        { peerId: 'n3', drop: false, delayMs: 50 },
        { peerId: 'n2', drop: true, delayMs: 70 },
        { peerId: 'n4', drop: false, delayMs: 0 },
      ]),
    ).toEqual([
      { peerId: 'n2', drop: true, delayMs: 0 },
      { peerId: 'n3', drop: false, delayMs: 50 },
    ]);
    for (const bad of [
      [{ peerId: '', drop: true, delayMs: 0 }],
      [{ peerId: 'n1', drop: true, delayMs: 0 }],
      [{ peerId: 'n2', drop: false, delayMs: -1 }],
      [{ peerId: 'n2', drop: false, delayMs: 60_001 }],
      [{ peerId: 'n2', drop: false, delayMs: 1.5 }],
      [
        { peerId: 'n2', drop: true, delayMs: 0 },
        { peerId: 'n2', drop: false, delayMs: 5 },
      ],
    ]) {
      expect(() => faulty.setFaults(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    expect(faulty.faults()).toHaveLength(2);
  });

  it('passes unreachable reports through from the inner transport', () => {
    const { inner, faulty } = setUp();
    const seen: NodeId[] = [];
    faulty.onUnreachable((peer) => seen.push(peer));
    for (const listener of inner.unreachable) listener('n9');
    expect(seen).toEqual(['n9']);
  });
});

describe('LinkFaultHooks and Cluster/SetLinkFaults', () => {
  const node = { id: 'n1', status: () => ({ membership: { voters: ['n1'], learners: [] } }) } as unknown as KvRaftNode;

  it('wraps one transport and sets its faults through the Cluster handler', async () => {
    const hooks = new LinkFaultHooks(new VirtualClock());
    expect(() => hooks.setLinkFaults([])).toThrow(/no transport/);
    const inner = new RecordingTransport('n1');
    const wrapped = hooks.wrap(inner);
    expect(hooks.transport).toBe(wrapped);
    expect(() => hooks.wrap(inner)).toThrow(/already/);
    const handlers = createClusterHandlers({ node, defaultTimeoutMs: 1_000, addressOf: () => undefined, faultHooks: hooks });
    expect(await handlers.setLinkFaults({ faults: [{ peerId: 'n2', drop: true, delayMs: 0 }] })).toEqual({ faults: [{ peerId: 'n2', drop: true, delayMs: 0 }] });
    wrapped.send('n2', envelope('n2', 'cut'));
    expect(inner.sent).toEqual([]);
    await expect(handlers.setLinkFaults({ faults: [{ peerId: 'n1', drop: true, delayMs: 0 }] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('is refused with FAILED_PRECONDITION on a server without fault hooks', async () => {
    const handlers = createClusterHandlers({ node, defaultTimeoutMs: 1_000, addressOf: () => undefined });
    const error = await handlers.setLinkFaults({ faults: [] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'FAULT_HOOKS_OFF', message: expect.stringContaining('--fault-hooks') });
    expect(serviceFailure(error, { leaderId: undefined, leaderEndpoint: undefined })).toMatchObject({ code: 9, reason: 'FAULT_HOOKS_OFF' });
  });

  it('Status reports the snapshot index the server gives', async () => {
    const statusNode = {
      id: 'n1',
      status: () => ({ role: 'leader', term: 3, leader: 'n1', commitIndex: 9, appliedIndex: 9, lastIndex: 9, membership: { voters: ['n1'], learners: [] } }),
    } as unknown as KvRaftNode;
    const withIndex = createClusterHandlers({ node: statusNode, defaultTimeoutMs: 1_000, addressOf: () => undefined, snapshotIndex: () => 7 });
    expect((await withIndex.status({ includeStateHash: false })).snapshotIndex).toBe(7n);
    const without = createClusterHandlers({ node: statusNode, defaultTimeoutMs: 1_000, addressOf: () => undefined });
    expect((await without.status({ includeStateHash: false })).snapshotIndex).toBe(0n);
  });
});
