import {
  InvalidArgumentError,
  TransportClosedError,
  type Clock,
  type Envelope,
  type EnvelopeHandler,
  type NodeId,
  type TimerHandle,
  type Transport,
  type UnreachableListener,
} from '@synod/core';

/**
 * An injected fault on the link between this node and one peer; it applies
 * to what the node sends to the peer and to what it receives from it (the
 * wire form is `synod.cluster.v1.LinkFault`).
 */
export interface LinkFault {
  readonly peerId: NodeId;
  /** Drop every message; `delayMs` is then ignored. */
  readonly drop: boolean;
  /** Hold every message this long before passing it on, in ms. */
  readonly delayMs: number;
}

/** The largest delay a link fault may set, in ms. */
export const MAX_LINK_DELAY_MS = 60_000;

/** Delayed messages held at once, beyond which more are dropped (a long delay on a busy link must not exhaust memory). */
const MAX_HELD_MESSAGES = 10_000;

/**
 * The demo and test hook a server installs when asked to (`synod serve
 * --fault-hooks`): it wraps the server's peer transport, and Cluster/
 * SetLinkFaults changes its faults. Servers without it refuse that call
 * with FAILED_PRECONDITION.
 */
export interface FaultHooks {
  /** Wraps the peer transport; the server hands the node the result. Called once. */
  wrap(transport: Transport): Transport;
  /** Replaces every link fault; returns those now in effect. @throws InvalidArgumentError for a bad one */
  setLinkFaults(faults: readonly LinkFault[]): readonly LinkFault[];
}

/**
 * {@link FaultHooks} that wrap the peer transport in a
 * {@link FaultInjectingTransport} on `clock`.
 *
 * @example
 * ```ts
 * const hooks = new LinkFaultHooks(systemClock);
 * const server = createSynodServer({ ...options, faultHooks: hooks });
 * hooks.setLinkFaults([{ peerId: 'n2', drop: true, delayMs: 0 }]); // what Cluster/SetLinkFaults does
 * ```
 */
export class LinkFaultHooks implements FaultHooks {
  readonly #clock: Clock;
  #transport: FaultInjectingTransport | undefined;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** The wrapper, once {@link wrap} has run: what other protocols on the same transport (SWIM) must use too. */
  get transport(): FaultInjectingTransport | undefined {
    return this.#transport;
  }

  wrap(transport: Transport): Transport {
    if (this.#transport !== undefined) throw new InvalidArgumentError('these fault hooks already wrap a transport');
    this.#transport = new FaultInjectingTransport(transport, this.#clock);
    return this.#transport;
  }

  setLinkFaults(faults: readonly LinkFault[]): readonly LinkFault[] {
    if (this.#transport === undefined) throw new InvalidArgumentError('the fault hooks wrap no transport yet');
    return this.#transport.setFaults(faults);
  }
}

/**
 * A {@link Transport} decorator that drops or delays the messages to and
 * from chosen peers, for demos and fault-injection tests: a cut link between
 * real processes without touching the network. It is a pure wrapper: time
 * comes from `clock` (a VirtualClock in tests), and everything else is the
 * inner transport's.
 *
 * A delayed message that the inner transport then refuses (closed, too
 * large) is dropped, as a message lost in flight would be. At most 10 000
 * delayed messages are held; more are dropped. Faults changed later do not
 * affect messages already held.
 *
 * @example
 * ```ts
 * const faulty = new FaultInjectingTransport(transport, systemClock);
 * faulty.setFaults([{ peerId: 'n2', drop: true, delayMs: 0 }, { peerId: 'n3', drop: false, delayMs: 200 }]);
 * faulty.setFaults([]); // heal
 * ```
 */
export class FaultInjectingTransport implements Transport {
  readonly #inner: Transport;
  readonly #clock: Clock;
  readonly #faults = new Map<NodeId, LinkFault>();
  readonly #held = new Set<TimerHandle>();
  #handler: EnvelopeHandler | undefined;
  #closed = false;
  #dropped = 0;

  constructor(inner: Transport, clock: Clock) {
    this.#inner = inner;
    this.#clock = clock;
  }

  get localId(): NodeId {
    return this.#inner.localId;
  }

  get maxMessageBytes(): number {
    return this.#inner.maxMessageBytes;
  }

  /** Messages dropped so far, by a fault or because too many were held. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Delayed messages not yet passed on. */
  get held(): number {
    return this.#held.size;
  }

  /** The faults in effect, by peer id. */
  faults(): LinkFault[] {
    return [...this.#faults.values()].sort((a, b) => a.peerId.localeCompare(b.peerId));
  }

  /**
   * Replaces every fault (an empty list heals every link); returns those in
   * effect. A fault with neither `drop` nor a delay is no fault and is left out.
   * @throws InvalidArgumentError for an empty or own peer id, a peer given twice, or a delay that is not an integer from 0 to 60000
   */
  setFaults(faults: readonly LinkFault[]): LinkFault[] {
    const next = new Map<NodeId, LinkFault>();
    for (const fault of faults) {
      if (fault.peerId === '') throw new InvalidArgumentError('a link fault needs a peer id');
      if (fault.peerId === this.localId) throw new InvalidArgumentError(`a link fault joins this node to another, got its own id '${fault.peerId}'`);
      if (next.has(fault.peerId)) throw new InvalidArgumentError(`link faults name peer '${fault.peerId}' twice`);
      if (!Number.isInteger(fault.delayMs) || fault.delayMs < 0 || fault.delayMs > MAX_LINK_DELAY_MS) {
        throw new InvalidArgumentError(`a link delay must be an integer from 0 to ${MAX_LINK_DELAY_MS} ms, got ${fault.delayMs}`);
      }
      if (fault.drop || fault.delayMs > 0) next.set(fault.peerId, { peerId: fault.peerId, drop: fault.drop, delayMs: fault.drop ? 0 : fault.delayMs });
    }
    this.#faults.clear();
    for (const [peer, fault] of next) this.#faults.set(peer, fault);
    return this.faults();
  }

  send(to: NodeId, envelope: Envelope): void {
    if (this.#closed) throw new TransportClosedError();
    const fault = this.#faults.get(to);
    if (fault === undefined) {
      this.#inner.send(to, envelope);
      return;
    }
    this.#pass(fault, () => this.#inner.send(to, envelope));
  }

  setHandler(handler: EnvelopeHandler): void {
    this.#handler = handler;
    this.#inner.setHandler((envelope) => {
      const fault = this.#faults.get(envelope.from);
      if (fault === undefined) {
        this.#handler?.(envelope);
        return;
      }
      this.#pass(fault, () => this.#handler?.(envelope));
    });
  }

  onUnreachable(listener: UnreachableListener): () => void {
    return this.#inner.onUnreachable(listener);
  }

  /** Drops the held messages and closes the inner transport. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const timer of this.#held) this.#clock.clearTimeout(timer);
      this.#held.clear();
    }
    await this.#inner.close();
  }

  /** Drops, or runs `deliver` after the fault's delay. */
  #pass(fault: LinkFault, deliver: () => void): void {
    if (fault.drop || this.#held.size >= MAX_HELD_MESSAGES) {
      this.#dropped++;
      return;
    }
    const timer = this.#clock.setTimeout(() => {
      this.#held.delete(timer);
      if (this.#closed) return;
      try {
        deliver();
      } catch {
        // Lost in flight: the caller that sent it has long returned.
        this.#dropped++;
      }
    }, fault.delayMs);
    this.#held.add(timer);
  }
}
