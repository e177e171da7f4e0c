import { TransportClosedError } from '../../src/errors/errors.js';
import { SeededRandom, type Random } from '../../src/time/random.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import type { Envelope, EnvelopeHandler, NodeId, Transport, UnreachableListener } from '../../src/transport/transport.js';

/**
 * A small deterministic network for detection tests, on a VirtualClock.
 * (The real in-memory transport lives in its own package; core tests must not
 * depend on it.) Every message takes `latencyMs`; links can be cut one way or
 * both, nodes crashed, and a seeded fraction of messages lost.
 */
export class TestNetwork {
  readonly clock: VirtualClock;
  readonly random: Random;
  latencyMs = 1;
  lossRate = 0;
  readonly #handlers = new Map<NodeId, EnvelopeHandler>();
  readonly #unreachable = new Map<NodeId, Set<UnreachableListener>>();
  readonly #closed = new Set<NodeId>();
  readonly #down = new Set<NodeId>();
  readonly #cut = new Set<string>();
  /** Delivered envelopes per payload type, e.g. `swim:ping-req`. */
  readonly delivered = new Map<string, number>();
  /** Observers of every delivered envelope. */
  readonly taps: ((env: Envelope) => void)[] = [];

  constructor(seed = 1, clock = new VirtualClock()) {
    this.clock = clock;
    this.random = new SeededRandom(seed);
  }

  endpoint(id: NodeId, maxMessageBytes = 1 << 20): Transport {
    return {
      localId: id,
      maxMessageBytes,
      send: (to: NodeId, envelope: Envelope): void => {
        if (this.#closed.has(id)) throw new TransportClosedError();
        this.#send(id, to, envelope);
      },
      setHandler: (handler: EnvelopeHandler): void => {
        this.#handlers.set(id, handler);
      },
      onUnreachable: (listener: UnreachableListener): (() => void) => {
        let set = this.#unreachable.get(id);
        if (set === undefined) {
          set = new Set();
          this.#unreachable.set(id, set);
        }
        set.add(listener);
        return () => set.delete(listener);
      },
      close: (): Promise<void> => {
        this.#closed.add(id);
        return Promise.resolve();
      },
    };
  }

  /** Drops everything from `a` to `b` (and back, unless `oneWay`). */
  cut(a: NodeId, b: NodeId, oneWay = false): void {
    this.#cut.add(`${a}>${b}`);
    if (!oneWay) this.#cut.add(`${b}>${a}`);
  }

  heal(a: NodeId, b: NodeId): void {
    this.#cut.delete(`${a}>${b}`);
    this.#cut.delete(`${b}>${a}`);
  }

  /** The node neither sends nor receives (a crash or a full partition). */
  crash(id: NodeId): void {
    this.#down.add(id);
  }

  recover(id: NodeId): void {
    this.#down.delete(id);
  }

  /** Reports `peer` unreachable to `at`'s listeners, as a transport would after a refused connection. */
  reportUnreachable(at: NodeId, peer: NodeId): void {
    for (const listener of this.#unreachable.get(at) ?? []) listener(peer);
  }

  count(key: string): number {
    return this.delivered.get(key) ?? 0;
  }

  #send(from: NodeId, to: NodeId, envelope: Envelope): void {
    if (this.#down.has(from) || this.#down.has(to) || this.#cut.has(`${from}>${to}`)) return;
    if (this.lossRate > 0 && this.random.next() < this.lossRate) return;
    this.clock.setTimeout(() => {
      if (this.#down.has(to) || this.#closed.has(to)) return;
      const handler = this.#handlers.get(to);
      if (handler === undefined) return;
      const payload = envelope.payload as { type?: unknown };
      const key = `${envelope.protocol}:${String(payload.type)}`;
      this.delivered.set(key, (this.delivered.get(key) ?? 0) + 1);
      for (const tap of this.taps) tap(envelope);
      handler(envelope);
    }, this.latencyMs);
  }
}
