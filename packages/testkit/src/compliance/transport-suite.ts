import {
  MessageTooLargeError,
  TransportClosedError,
  type Envelope,
  type NodeId,
  type ProtocolName,
  type Transport,
} from '@synod/core';
import { describe, expect, it } from 'vitest';

/** The cluster id the suite puts in envelopes unless the setup names another. */
export const COMPLIANCE_CLUSTER_ID = 'synod-compliance';

/** A running set of transports under test; returned by {@link TransportSuiteSetup.create}. */
export interface TransportSuiteContext {
  /** One transport per requested node id, already able to reach each other. */
  readonly transports: Map<NodeId, Transport>;
  /**
   * Lets every message in flight arrive, and unreachable reports fire. A
   * virtual-time setup advances its clock; a real one waits (long enough for
   * a refused connection to be noticed).
   */
  settle(): Promise<void>;
  /** Closes everything the setup created. Called even when a test fails. */
  teardown(): Promise<void>;
  /**
   * The cluster id the transports belong to; envelopes carry it.
   * @default COMPLIANCE_CLUSTER_ID
   */
  readonly clusterId?: string;
}

/** What a transport's tests hand to {@link transportComplianceSuite}. */
export interface TransportSuiteSetup {
  /** Starts one transport per id, all in the same cluster. */
  create(nodeIds: NodeId[]): Promise<TransportSuiteContext>;
  /**
   * Optional behaviour the suite checks only when the transport claims it.
   */
  readonly capabilities?: {
    /**
     * The transport reports a send to a peer it has no route to (unknown id)
     * through `onUnreachable`. Transports over a broker that cannot tell
     * (NATS core publish) set this to false; the suite then only checks that
     * such a send does not throw.
     * @default true
     */
    readonly reportsUnknownPeers?: boolean;
    /**
     * The receiving side drops envelopes whose cluster id is not its own (the
     * sender may also refuse them by throwing).
     * @default false
     */
    readonly rejectsForeignClusterId?: boolean;
  };
}

const PROTOCOLS: readonly ProtocolName[] = ['raft', 'paxos', 'swim', 'probe', 'x-compliance'];

/** Every byte value once, then a run of zeros: catches text-codec and truncation bugs. */
function binaryPayload(): Uint8Array {
  const bytes = new Uint8Array(256 + 16);
  for (let i = 0; i < 256; i++) bytes[i] = i;
  return bytes;
}

/** A payload that tells messages apart: `[from index, to index, sequence]` plus a marker. */
function taggedPayload(fromIndex: number, toIndex: number, seq: number): Uint8Array {
  return new Uint8Array([fromIndex, toIndex, seq & 0xff, (seq >> 8) & 0xff, 0xa5]);
}

interface Received {
  readonly at: NodeId;
  readonly envelope: Envelope;
}

/** The one envelope received, failing the test when there is not exactly one. */
function single(received: readonly Received[]): Envelope {
  expect(received).toHaveLength(1);
  const [first] = received;
  if (first === undefined) throw new Error('nothing received');
  return first.envelope;
}

/**
 * Checks that a transport honours the core `Transport` contract. Call it from
 * the transport's own test file; it declares a `describe` block of `it`
 * cases, each of which creates fresh transports through `setup` and tears
 * them down afterwards. Payloads are always `Uint8Array`, so a network
 * transport can carry them with a plain bytes codec.
 *
 * The suite never asserts ordering or timing: the contract allows both to
 * vary. It does assert that nothing is lost or altered when no faults are
 * injected.
 *
 * @example
 * ```ts
 * import { transportComplianceSuite } from '@synod/testkit';
 *
 * transportComplianceSuite('MemoryTransport', {
 *   async create(ids) {
 *     const clock = new VirtualClock();
 *     const network = new MemoryNetwork({ clock, random: new SeededRandom(1), clusterId: COMPLIANCE_CLUSTER_ID });
 *     return {
 *       transports: new Map(ids.map((id) => [id, network.endpoint(id)])),
 *       settle: async () => clock.advance(1_000),
 *       teardown: () => network.close(),
 *     };
 *   },
 * });
 * ```
 */
export function transportComplianceSuite(name: string, setup: TransportSuiteSetup): void {
  const reportsUnknownPeers = setup.capabilities?.reportsUnknownPeers ?? true;
  const rejectsForeignClusterId = setup.capabilities?.rejectsForeignClusterId ?? false;

  async function withTransports(
    ids: NodeId[],
    body: (ctx: {
      readonly t: (id: NodeId) => Transport;
      readonly settle: () => Promise<void>;
      readonly clusterId: string;
      readonly envelope: (from: NodeId, to: NodeId, protocol: ProtocolName, payload: Uint8Array) => Envelope;
      readonly collect: (...receivers: NodeId[]) => Received[];
    }) => Promise<void>,
  ): Promise<void> {
    const context = await setup.create(ids);
    try {
      const clusterId = context.clusterId ?? COMPLIANCE_CLUSTER_ID;
      const t = (id: NodeId): Transport => {
        const transport = context.transports.get(id);
        if (transport === undefined) throw new Error(`setup did not create a transport for ${id}`);
        return transport;
      };
      await body({
        t,
        settle: () => context.settle(),
        clusterId,
        envelope: (from, to, protocol, payload) => ({ clusterId, from, to, protocol, payload }),
        collect: (...receivers) => {
          const received: Received[] = [];
          for (const id of receivers) t(id).setHandler((envelope) => received.push({ at: id, envelope }));
          return received;
        },
      });
    } finally {
      await context.teardown();
    }
  }

  describe(`${name} transport compliance`, () => {
    it('gives every node an endpoint whose localId is its node id and whose size limit is positive', async () => {
      await withTransports(['a', 'b'], async ({ t }) => {
        for (const id of ['a', 'b']) {
          expect(t(id).localId).toBe(id);
          expect(Number.isFinite(t(id).maxMessageBytes)).toBe(true);
          expect(t(id).maxMessageBytes).toBeGreaterThan(0);
        }
      });
    });

    it('delivers the envelope fields intact, binary payload byte for byte', async () => {
      await withTransports(['a', 'b'], async ({ t, settle, clusterId, envelope, collect }) => {
        const received = collect('b');
        const payload = binaryPayload();
        t('a').send('b', envelope('a', 'b', 'raft', payload));
        await settle();
        const got = single(received);
        expect(got.clusterId).toBe(clusterId);
        expect(got.from).toBe('a');
        expect(got.to).toBe('b');
        expect(got.protocol).toBe('raft');
        expect(got.payload).toBeInstanceOf(Uint8Array);
        expect(Array.from(got.payload as Uint8Array)).toEqual(Array.from(payload));
      });
    });

    it('delivers an empty payload as an empty byte array', async () => {
      await withTransports(['a', 'b'], async ({ t, settle, envelope, collect }) => {
        const received = collect('b');
        t('a').send('b', envelope('a', 'b', 'probe', new Uint8Array(0)));
        await settle();
        const got = single(received);
        expect(got.payload).toBeInstanceOf(Uint8Array);
        expect((got.payload as Uint8Array).byteLength).toBe(0);
      });
    });

    it('never calls the receiving handler inside send', async () => {
      await withTransports(['a', 'b'], async ({ t, settle, envelope }) => {
        let inSend = false;
        let calledInsideSend = false;
        let delivered = 0;
        t('b').setHandler(() => {
          delivered++;
          if (inSend) calledInsideSend = true;
        });
        inSend = true;
        t('a').send('b', envelope('a', 'b', 'raft', new Uint8Array([1])));
        inSend = false;
        await settle();
        expect(calledInsideSend).toBe(false);
        expect(delivered).toBe(1);
      });
    });

    it('routes to the handler set last, and only to it', async () => {
      await withTransports(['a', 'b'], async ({ t, settle, envelope }) => {
        const first: Envelope[] = [];
        const second: Envelope[] = [];
        t('b').setHandler((e) => first.push(e));
        t('b').setHandler((e) => second.push(e));
        t('a').send('b', envelope('a', 'b', 'raft', new Uint8Array([7])));
        await settle();
        expect(first).toHaveLength(0);
        expect(second).toHaveLength(1);
      });
    });

    it('carries many protocols over one transport, each labelled with its own', async () => {
      await withTransports(['a', 'b'], async ({ t, settle, envelope, collect }) => {
        const received = collect('b');
        PROTOCOLS.forEach((protocol, i) => t('a').send('b', envelope('a', 'b', protocol, new Uint8Array([i]))));
        await settle();
        const byProtocol = new Map(received.map((r) => [r.envelope.protocol, Array.from(r.envelope.payload as Uint8Array)]));
        expect(received).toHaveLength(PROTOCOLS.length);
        PROTOCOLS.forEach((protocol, i) => expect(byProtocol.get(protocol)).toEqual([i]));
      });
    });

    it('delivers every message between many pairs when no faults are injected', async () => {
      const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
      const perPair = 10;
      await withTransports(ids, async ({ t, settle, envelope, collect }) => {
        const received = collect(...ids);
        ids.forEach((from, fi) =>
          ids.forEach((to, ti) => {
            if (from === to) return;
            for (let seq = 0; seq < perPair; seq++) t(from).send(to, envelope(from, to, 'raft', taggedPayload(fi, ti, seq)));
          }),
        );
        await settle();
        expect(received).toHaveLength(ids.length * (ids.length - 1) * perPair);
        const seen = new Set<string>();
        for (const { at, envelope: e } of received) {
          expect(e.to).toBe(at);
          const [fi = -1, ti = -1, lo = 0, hi = 0, marker] = Array.from(e.payload as Uint8Array);
          expect(marker).toBe(0xa5);
          expect(ids[fi]).toBe(e.from);
          expect(ids[ti]).toBe(e.to);
          seen.add(`${e.from}>${e.to}#${lo + hi * 256}`);
        }
        // Each (pair, sequence) exactly once: nothing lost and nothing duplicated.
        expect(seen.size).toBe(received.length);
      });
    });

    it('does not throw when sending to an unknown peer' + (reportsUnknownPeers ? ', and reports it unreachable' : ''), async () => {
      await withTransports(['a', 'b'], async ({ t, settle, envelope }) => {
        const unreachable: NodeId[] = [];
        t('a').onUnreachable((peer) => unreachable.push(peer));
        expect(() => t('a').send('ghost', envelope('a', 'ghost', 'raft', new Uint8Array([1])))).not.toThrow();
        await settle();
        if (reportsUnknownPeers) expect(unreachable).toContain('ghost');
        expect(unreachable.every((peer) => peer === 'ghost')).toBe(true);
      });
    });

    it('stops reporting to an unreachable listener once it unsubscribed', async () => {
      await withTransports(['a'], async ({ t, settle, envelope }) => {
        const kept: NodeId[] = [];
        const removed: NodeId[] = [];
        t('a').onUnreachable((peer) => kept.push(peer));
        const unsubscribe = t('a').onUnreachable((peer) => removed.push(peer));
        unsubscribe();
        t('a').send('ghost', envelope('a', 'ghost', 'raft', new Uint8Array([1])));
        await settle();
        expect(removed).toEqual([]);
        if (reportsUnknownPeers) expect(kept.length).toBeGreaterThan(0);
      });
    });

    it('rejects a message over maxMessageBytes with MessageTooLargeError', async () => {
      await withTransports(['a', 'b'], async ({ t, settle, envelope, collect }) => {
        const received = collect('b');
        const limit = t('a').maxMessageBytes;
        const oversized = new Uint8Array(limit + 1);
        let thrown: unknown;
        try {
          t('a').send('b', envelope('a', 'b', 'raft', oversized));
        } catch (err) {
          thrown = err;
        }
        expect(thrown).toBeInstanceOf(MessageTooLargeError);
        expect((thrown as MessageTooLargeError).limitBytes).toBe(limit);
        await settle();
        expect(received).toHaveLength(0);
        // The transport stays usable after refusing a message.
        t('a').send('b', envelope('a', 'b', 'raft', new Uint8Array([1])));
        await settle();
        expect(received).toHaveLength(1);
      });
    });

    it('closes idempotently and throws TransportClosedError on send after close', async () => {
      await withTransports(['a', 'b'], async ({ t, envelope }) => {
        await t('a').close();
        await expect(t('a').close()).resolves.toBeUndefined();
        expect(() => t('a').send('b', envelope('a', 'b', 'raft', new Uint8Array([1])))).toThrow(TransportClosedError);
      });
    });

    it('stops delivering to a peer once it closed, without failing the sender', async () => {
      await withTransports(['a', 'b'], async ({ t, settle, envelope, collect }) => {
        const received = collect('b');
        await t('b').close();
        expect(() => t('a').send('b', envelope('a', 'b', 'raft', new Uint8Array([1])))).not.toThrow();
        await settle();
        expect(received).toHaveLength(0);
      });
    });

    it.runIf(rejectsForeignClusterId)('does not deliver an envelope of another cluster', async () => {
      await withTransports(['a', 'b'], async ({ t, settle, clusterId, collect }) => {
        const received = collect('b');
        const foreign: Envelope = {
          clusterId: `${clusterId}-other`,
          from: 'a',
          to: 'b',
          protocol: 'raft',
          payload: new Uint8Array([1]),
        };
        // Refusing at the sender is as good as dropping at the receiver.
        try {
          t('a').send('b', foreign);
        } catch {
          // expected for transports that check on send
        }
        await settle();
        expect(received).toHaveLength(0);
      });
    });
  });
}
