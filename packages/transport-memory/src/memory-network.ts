import {
  InvalidArgumentError,
  MessageTooLargeError,
  TransportClosedError,
  type Clock,
  type Envelope,
  type EnvelopeHandler,
  type NodeId,
  type Random,
  type TimerHandle,
  type UnreachableListener,
} from '@synod/core';
import { Connectivity, linkKey } from './connectivity.js';
import type { NetworkEvent, NetworkObserver } from './events.js';
import {
  NO_FAULTS,
  mergeFaults,
  sampleDelay,
  sampleReorderDelay,
  validateFaults,
  type LinkFaults,
  type ResolvedLinkFaults,
} from './faults.js';
import { MemoryTransport, type EndpointHost } from './memory-transport.js';
import { estimateEnvelopeSize, type EnvelopeCodec, type EnvelopeSizer } from './size.js';
import { StatsRecorder, type DropReason, type NetworkStats } from './stats.js';

/**
 * The same as the NATS default `max_payload`, the smallest limit among the
 * real transports, so that a message too big for NATS already fails in
 * memory tests.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

/** Options for {@link MemoryNetwork}. */
export interface MemoryNetworkOptions {
  /**
   * Drives delivery. A `VirtualClock` gives deterministic runs that go as fast
   * as the CPU allows; `systemClock` gives real-time delivery (for demos).
   */
  readonly clock: Clock;
  /**
   * The only source of randomness for faults and delays, so one seed replays
   * a run exactly. Pass `random.fork()` to keep the network's stream
   * independent of other components sharing the same generator.
   */
  readonly random: Random;
  /**
   * When set, envelopes carrying another cluster id are dropped on arrival,
   * as a real receiver would reject them.
   * @default undefined (no check)
   */
  readonly clusterId?: string;
  /**
   * Largest message, in bytes, that an endpoint accepts.
   * @default 1048576 (1 MiB)
   */
  readonly maxMessageBytes?: number;
  /**
   * When given, every message is encoded on send and decoded on delivery (each
   * copy separately), so aliasing and encoding bugs surface in memory tests,
   * and the size limit applies to the encoded bytes.
   * @default undefined (the envelope object itself is delivered)
   */
  readonly codec?: EnvelopeCodec;
  /**
   * Estimates the encoded size when there is no codec.
   * @default estimateEnvelopeSize
   */
  readonly sizeOf?: EnvelopeSizer;
  /**
   * Faults on every link, unless a link has its own override.
   * @default no drops, no duplicates, no reordering, fixed 1 ms delay
   */
  readonly faults?: LinkFaults;
  /**
   * Whether a send blocked by a partition, a cut link or an isolated node is
   * reported through `onUnreachable`. A real network just loses those
   * packets, so a sender finds out only by timing out; the default mirrors
   * that. Crashed, closed and unknown receivers are always reported, like a
   * refused connection.
   * @default false
   */
  readonly unreachableOnPartition?: boolean;
}

/** A message on its way, to be delivered unless its receiver changed incarnation meanwhile. */
interface PendingDelivery {
  readonly envelope: Envelope;
  readonly bytes: Uint8Array | undefined;
  readonly incarnation: number;
}

/** A node's state on the network. */
export type NodeStatus = 'up' | 'crashed' | 'closed';

interface NodeSlot {
  readonly id: NodeId;
  readonly transport: MemoryTransport;
  status: NodeStatus;
  // Changes on every crash and restart. A message remembers the incarnation it
  // was sent to, so one in flight across a crash is lost even if the node is
  // back by the time it would arrive, as it would be with a real process.
  incarnation: number;
  handler: EnvelopeHandler | undefined;
  readonly listeners: Set<UnreachableListener>;
}

/**
 * An in-process network joining any number of nodes, with seeded, scriptable
 * faults. Every delivery goes through `clock.setTimeout`, never inside `send`,
 * so protocol code sees the same asynchrony as on a real network, and a
 * `VirtualClock` makes runs deterministic.
 *
 * Without a codec, the receiver gets the very payload object the sender
 * passed (no clone, for speed): receivers must treat payloads as immutable.
 * Pass a `codec` to catch code that does not.
 *
 * Ordering: with a fixed delay and no reordering, each link is FIFO. Other
 * delay distributions, duplication and reordering reorder messages.
 *
 * A handler or unreachable listener that throws lets the error escape from
 * the clock callback (so `VirtualClock.advance` rethrows it): in tests a
 * failing protocol check should be loud. The network has already counted the
 * delivery by then and stays consistent.
 *
 * @example
 * ```ts
 * import { SeededRandom, VirtualClock } from '@synod/core';
 * import { MemoryNetwork } from '@synod/transport-memory';
 *
 * const clock = new VirtualClock();
 * const network = new MemoryNetwork({
 *   clock,
 *   random: new SeededRandom(7),
 *   clusterId: 'demo',
 *   faults: { dropRate: 0.01, delay: { kind: 'uniform', minMs: 1, maxMs: 10 } },
 * });
 * const a = network.endpoint('a');
 * const b = network.endpoint('b');
 * b.setHandler((envelope) => console.log(clock.now(), envelope.payload));
 * a.send('b', { clusterId: 'demo', from: 'a', to: 'b', protocol: 'probe', payload: new Uint8Array([1]) });
 * network.partition([['a'], ['b']]);
 * network.heal();
 * clock.advance(10);
 * ```
 */
export class MemoryNetwork {
  readonly clock: Clock;
  readonly random: Random;
  readonly clusterId: string | undefined;
  readonly maxMessageBytes: number;
  readonly codec: EnvelopeCodec | undefined;
  readonly #sizeOf: EnvelopeSizer;
  readonly #unreachableOnPartition: boolean;
  readonly #slots = new Map<NodeId, NodeSlot>();
  readonly #connectivity = new Connectivity();
  readonly #linkFaults = new Map<string, LinkFaults>();
  readonly #stats = new StatsRecorder();
  readonly #observers = new Set<NetworkObserver>();
  // Every timer this network has set and not yet seen fire, so close() can
  // cancel them (real-time mode would otherwise keep the process alive).
  readonly #timers = new Map<number, TimerHandle>();
  /** Zero-delay messages waiting for the one timer that delivers them all (see #deliverSoon). */
  #dueNow: PendingDelivery[] = [];
  /** Messages of the batch being delivered that are still to go. */
  #flushRemaining = 0;
  #defaultFaults: ResolvedLinkFaults;
  #nextIncarnation = 1;
  #nextTimerKey = 1;
  #closed = false;
  readonly #host: EndpointHost;

  /** @throws InvalidArgumentError for an invalid limit or fault setting */
  constructor(options: MemoryNetworkOptions) {
    const max = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (!Number.isInteger(max) || max <= 0) {
      throw new InvalidArgumentError(`maxMessageBytes must be a positive integer, got ${max}`);
    }
    validateFaults(options.faults);
    this.clock = options.clock;
    this.random = options.random;
    this.clusterId = options.clusterId;
    this.maxMessageBytes = max;
    this.codec = options.codec;
    this.#sizeOf = options.sizeOf ?? estimateEnvelopeSize;
    this.#unreachableOnPartition = options.unreachableOnPartition ?? false;
    this.#defaultFaults = mergeFaults(NO_FAULTS, options.faults);
    this.#host = {
      send: (from, to, envelope) => this.#send(from, to, envelope),
      // Allowed while crashed too, so an owner may re-attach before or after restart.
      setHandler: (endpoint, handler) => {
        this.#openSlot(endpoint).handler = handler;
      },
      addUnreachableListener: (endpoint, listener) => {
        const slot = this.#openSlot(endpoint);
        slot.listeners.add(listener);
        return () => {
          slot.listeners.delete(listener);
        };
      },
      close: (endpoint) => this.#closeEndpoint(endpoint),
      isClosed: (endpoint) => this.#slotOf(endpoint) === undefined,
    };
  }

  /**
   * The endpoint of `nodeId`, created on first use. Returns the same endpoint
   * while it is open (crashed included); after it was closed, a new one.
   * One id is one node: two owners of the same id share this endpoint and
   * its single handler, so `RaftNode.start()` refuses an endpoint that
   * another running RaftNode already uses.
   *
   * @throws TransportClosedError after {@link MemoryNetwork.close}
   */
  endpoint(nodeId: NodeId): MemoryTransport {
    if (this.#closed) throw new TransportClosedError('memory network closed');
    const existing = this.#slots.get(nodeId);
    if (existing !== undefined && existing.status !== 'closed') return existing.transport;
    const slot: NodeSlot = {
      id: nodeId,
      transport: new MemoryTransport(this.#host, nodeId, this.maxMessageBytes),
      status: 'up',
      incarnation: this.#nextIncarnation++,
      handler: undefined,
      listeners: new Set(),
    };
    this.#slots.set(nodeId, slot);
    return slot.transport;
  }

  /** Ids of every node that has an endpoint (open or crashed), in creation order. */
  nodes(): NodeId[] {
    return [...this.#slots.values()].filter((s) => s.status !== 'closed').map((s) => s.id);
  }

  /** The state of a node, or undefined for one that never had an endpoint. */
  status(nodeId: NodeId): NodeStatus | undefined {
    return this.#slots.get(nodeId)?.status;
  }

  /** Messages and unreachable reports scheduled on the clock and not yet due. */
  get inFlight(): number {
    // One timer stands for every message in #dueNow.
    const dueNowTimer = this.#dueNow.length > 0 ? 1 : 0;
    return this.#timers.size - dueNowTimer + this.#dueNow.length + this.#flushRemaining;
  }

  // ---- faults -------------------------------------------------------------

  /**
   * Replaces the faults on every link that has no override of its own.
   * @throws InvalidArgumentError for an invalid setting
   */
  setFaults(faults: LinkFaults): void {
    validateFaults(faults);
    this.#defaultFaults = mergeFaults(NO_FAULTS, faults);
  }

  /**
   * Overrides faults on the directed link `from → to`; fields left out
   * inherit the network's faults. Pass `undefined` to remove the override.
   * Call it twice (swapping the ids) for both directions.
   *
   * @throws InvalidArgumentError for an invalid setting
   * @example
   * ```ts
   * network.setLinkFaults('a', 'b', { dropRate: 0.5 }); // a → b is lossy, b → a is not
   * ```
   */
  setLinkFaults(from: NodeId, to: NodeId, faults: LinkFaults | undefined): void {
    if (faults === undefined) {
      this.#linkFaults.delete(linkKey(from, to));
      return;
    }
    validateFaults(faults);
    this.#linkFaults.set(linkKey(from, to), faults);
  }

  /** The faults in force on `from → to`. */
  faultsFor(from: NodeId, to: NodeId): ResolvedLinkFaults {
    if (this.#linkFaults.size === 0) return this.#defaultFaults;
    return mergeFaults(this.#defaultFaults, this.#linkFaults.get(linkKey(from, to)));
  }

  /**
   * Splits the network into groups that cannot talk to each other; nodes in
   * the same group can. Nodes not named in any group form one more group
   * together, so `partition([['a']])` cuts `a` off from everybody else.
   * Replaces any earlier partition; cut links and isolated nodes stay cut.
   * Messages already in flight across the new boundary are lost.
   *
   * @example
   * ```ts
   * network.partition([['a', 'b'], ['c', 'd', 'e']]);
   * ```
   */
  partition(groups: readonly (readonly NodeId[])[]): void {
    this.#connectivity.partition(groups);
  }

  /** Cuts the directed link `from → to`; `to → from` keeps working. */
  cutLink(from: NodeId, to: NodeId): void {
    this.#connectivity.cut(from, to);
  }

  /** Undoes {@link MemoryNetwork.cutLink} for `from → to`. */
  restoreLink(from: NodeId, to: NodeId): void {
    this.#connectivity.restore(from, to);
  }

  /** Cuts every link to and from `nodeId` until {@link MemoryNetwork.heal}. */
  isolate(nodeId: NodeId): void {
    this.#connectivity.isolate(nodeId);
  }

  /**
   * Removes the partition, every cut link and every isolation. Leaves drop,
   * delay and other link faults, and crashed nodes, as they are.
   */
  heal(): void {
    this.#connectivity.heal();
  }

  /** Whether a message from `from` to `to` would currently pass partitions and cuts. */
  canReach(from: NodeId, to: NodeId): boolean {
    return this.#connectivity.allows(from, to);
  }

  /**
   * Crashes a node: its endpoint stops sending (sends are silently dropped)
   * and receiving, messages in flight to it are lost, and its handler and
   * unreachable listeners are detached, as if the process died. Does nothing
   * to a node already crashed.
   *
   * @throws InvalidArgumentError for a node without an open endpoint
   */
  crash(nodeId: NodeId): void {
    const slot = this.#liveSlot(nodeId);
    if (slot.status === 'crashed') return;
    slot.status = 'crashed';
    slot.incarnation = this.#nextIncarnation++;
    slot.handler = undefined;
    slot.listeners.clear();
    this.#emit({ type: 'crash', at: this.clock.now(), node: nodeId });
  }

  /**
   * Brings a crashed node back. Its endpoint (the same object) works again;
   * the owner must set a handler again. Messages sent before the restart are
   * not delivered. Does nothing to a node that is up.
   *
   * @throws InvalidArgumentError for a node without an open endpoint
   */
  restart(nodeId: NodeId): void {
    const slot = this.#liveSlot(nodeId);
    if (slot.status === 'up') return;
    slot.status = 'up';
    slot.incarnation = this.#nextIncarnation++;
    this.#emit({ type: 'restart', at: this.clock.now(), node: nodeId });
  }

  // ---- statistics and observation ------------------------------------------

  /** A snapshot of the message counters. */
  stats(): NetworkStats {
    return this.#stats.snapshot();
  }

  /** Sets every counter back to zero (for example after a benchmark's warm-up). */
  resetStats(): void {
    this.#stats.reset();
  }

  /**
   * Calls `observer` for every send, delivery, drop, duplicate, unreachable
   * report, crash and restart. Returns an unsubscribe function.
   */
  observe(observer: NetworkObserver): () => void {
    this.#observers.add(observer);
    return () => {
      this.#observers.delete(observer);
    };
  }

  /**
   * Closes every endpoint and cancels every pending delivery. Idempotent.
   * In real-time mode this releases the Node timers that would otherwise keep
   * the process alive.
   */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const handle of this.#timers.values()) this.clock.clearTimeout(handle);
      this.#timers.clear();
      this.#dueNow = [];
      for (const slot of this.#slots.values()) this.#closeEndpoint(slot.transport);
    }
    return Promise.resolve();
  }

  // ---- internals -----------------------------------------------------------

  #slotOf(endpoint: MemoryTransport): NodeSlot | undefined {
    const slot = this.#slots.get(endpoint.localId);
    return slot !== undefined && slot.transport === endpoint && slot.status !== 'closed' ? slot : undefined;
  }

  #openSlot(endpoint: MemoryTransport): NodeSlot {
    const slot = this.#slotOf(endpoint);
    if (slot === undefined) throw new TransportClosedError(`transport of ${endpoint.localId} closed`);
    return slot;
  }

  #liveSlot(nodeId: NodeId): NodeSlot {
    const slot = this.#slots.get(nodeId);
    if (slot === undefined || slot.status === 'closed') {
      throw new InvalidArgumentError(`node ${nodeId} has no open endpoint on this network`);
    }
    return slot;
  }

  #closeEndpoint(endpoint: MemoryTransport): void {
    const slot = this.#slotOf(endpoint);
    if (slot === undefined) return;
    slot.status = 'closed';
    slot.incarnation = this.#nextIncarnation++;
    slot.handler = undefined;
    slot.listeners.clear();
  }

  #emit(event: NetworkEvent): void {
    for (const observer of this.#observers) observer(event);
  }

  #schedule(callback: () => void, delayMs: number): void {
    const key = this.#nextTimerKey++;
    const handle = this.clock.setTimeout(() => {
      this.#timers.delete(key);
      callback();
    }, delayMs);
    this.#timers.set(key, handle);
  }

  #drop(envelope: Envelope, reason: DropReason): void {
    this.#stats.dropped(envelope.from, envelope.protocol, reason);
    this.#emit({ type: 'drop', at: this.clock.now(), envelope, reason });
  }

  #send(endpoint: MemoryTransport, to: NodeId, envelope: Envelope): void {
    const sender = this.#openSlot(endpoint);
    if (envelope.to !== to) {
      throw new InvalidArgumentError(`envelope.to is ${envelope.to} but send was called for ${to}`);
    }
    if (envelope.from !== endpoint.localId) {
      throw new InvalidArgumentError(`envelope.from is ${envelope.from} but this endpoint is ${endpoint.localId}`);
    }
    // Encode once; every copy is decoded from these bytes on arrival.
    const bytes = this.codec?.encode(envelope);
    const size = bytes !== undefined ? bytes.byteLength : this.#sizeOf(envelope);
    if (size > this.maxMessageBytes) throw new MessageTooLargeError(size, this.maxMessageBytes);

    this.#stats.sent(endpoint.localId, envelope.protocol, size);
    // Events are built only for observers: the hot path should not pay for them.
    if (this.#observers.size > 0) this.#emit({ type: 'send', at: this.clock.now(), envelope, bytes: size });

    if (sender.status !== 'up') {
      this.#drop(envelope, 'sender-down');
      return;
    }
    const faults = this.faultsFor(endpoint.localId, to);
    const receiver = this.#slots.get(to);
    if (receiver === undefined || receiver.status !== 'up') {
      this.#drop(envelope, 'unreachable');
      const why = receiver === undefined ? 'unknown' : receiver.status;
      this.#reportUnreachable(sender, to, faults, new Error(`node ${to} is ${why}`));
      return;
    }
    if (!this.#connectivity.allows(endpoint.localId, to)) {
      this.#drop(envelope, 'partition');
      if (this.#unreachableOnPartition) {
        this.#reportUnreachable(sender, to, faults, new Error(`no route from ${endpoint.localId} to ${to}`));
      }
      return;
    }
    if (faults.dropRate > 0 && this.random.next() < faults.dropRate) {
      this.#drop(envelope, 'fault');
      return;
    }
    const copies = faults.duplicateRate > 0 && this.random.next() < faults.duplicateRate ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      if (copy > 0) {
        this.#stats.duplicated(endpoint.localId, envelope.protocol);
        this.#emit({ type: 'duplicate', at: this.clock.now(), envelope });
      }
      // A duplicate gets its own bytes: a decoder may return views into its
      // input, and two copies must not share memory any more than two real
      // packets would.
      const wire = bytes !== undefined && copy > 0 ? bytes.slice() : bytes;
      const delay = sampleDelay(faults.delay, this.random) + sampleReorderDelay(faults.reorder, this.random);
      const incarnation = receiver.incarnation;
      if (delay === 0) this.#deliverSoon({ envelope, bytes: wire, incarnation });
      else this.#schedule(() => this.#deliver(envelope, wire, incarnation), delay);
    }
  }

  /**
   * Zero-delay messages sent before the clock next fires share one timer: on
   * a real clock, a timer per message costs more than delivering it. They
   * are delivered in the order they were sent, and never inside `send`.
   */
  #deliverSoon(delivery: PendingDelivery): void {
    this.#dueNow.push(delivery);
    if (this.#dueNow.length === 1) this.#schedule(() => this.#flushDueNow(), 0);
  }

  #flushDueNow(): void {
    const batch = this.#dueNow;
    this.#dueNow = [];
    let next = 0;
    try {
      while (next < batch.length && !this.#closed) {
        const { envelope, bytes, incarnation } = batch[next++]!;
        this.#flushRemaining = batch.length - next;
        this.#deliver(envelope, bytes, incarnation);
      }
    } finally {
      this.#flushRemaining = 0;
      // A handler threw (the error goes on to the clock's caller): the rest
      // of the batch still goes out, ahead of anything sent since.
      if (next < batch.length && !this.#closed) {
        const hadTimer = this.#dueNow.length > 0;
        this.#dueNow = batch.slice(next).concat(this.#dueNow);
        if (!hadTimer) this.#schedule(() => this.#flushDueNow(), 0);
      }
    }
  }

  #deliver(sent: Envelope, bytes: Uint8Array | undefined, incarnation: number): void {
    const receiver = this.#slots.get(sent.to);
    if (receiver === undefined || receiver.status !== 'up' || receiver.incarnation !== incarnation) {
      this.#drop(sent, 'unreachable');
      return;
    }
    // Checked again on arrival: a partition that starts while a message is on
    // the wire loses it, like a firewall rule applied at the receiver.
    if (!this.#connectivity.allows(sent.from, sent.to)) {
      this.#drop(sent, 'partition');
      return;
    }
    const envelope = bytes !== undefined && this.codec !== undefined ? this.codec.decode(bytes) : sent;
    if (this.clusterId !== undefined && envelope.clusterId !== this.clusterId) {
      this.#drop(sent, 'cluster-mismatch');
      return;
    }
    const handler = receiver.handler;
    if (handler === undefined) {
      this.#drop(sent, 'no-handler');
      return;
    }
    this.#stats.delivered(sent.to, sent.protocol);
    if (this.#observers.size > 0) this.#emit({ type: 'deliver', at: this.clock.now(), envelope });
    handler(envelope);
  }

  #reportUnreachable(sender: NodeSlot, peer: NodeId, faults: ResolvedLinkFaults, cause: Error): void {
    // Reported after one link delay, like a refused connection, and never
    // inside send: a listener that reacts by sending must not re-enter it.
    const incarnation = sender.incarnation;
    this.#schedule(() => {
      if (sender.status !== 'up' || sender.incarnation !== incarnation) return;
      this.#emit({ type: 'unreachable', at: this.clock.now(), from: sender.id, to: peer });
      for (const listener of [...sender.listeners]) listener(peer, cause);
    }, sampleDelay(faults.delay, this.random));
  }
}
