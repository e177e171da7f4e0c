import { InvalidArgumentError } from '../errors/errors.js';
import type { Clock, TimerHandle } from '../time/clock.js';
import type { Envelope, NodeId, Transport } from '../transport/transport.js';
import { RttEstimator, type RttEstimatorOptions } from './rtt-estimator.js';

/** The payload of every envelope with protocol `'probe'`. */
export type ProbeMessage =
  | { readonly type: 'ping'; readonly nonce: number }
  | { readonly type: 'pong'; readonly nonce: number };

/** The outcome of one {@link TransportProber.probe}. */
export type ProbeResult =
  | {
      readonly ok: true;
      /** Time from the first transmission to the answer. */
      readonly rttMs: number;
      /** Transmissions made; above 1 the RTT was not fed to the estimator (Karn's rule). */
      readonly attempts: number;
    }
  | { readonly ok: false; readonly reason: 'timeout' | 'unreachable' | 'aborted' };

/** Options of one probe. */
export interface ProbeOptions {
  /** How long to wait for the answer, in ms from now. @default the peer's current RTO */
  readonly deadlineMs?: number;
  /** Resolves the probe with `aborted` when fired. */
  readonly signal?: AbortSignal;
  /**
   * Retransmit the ping each time the peer's RTO expires (with exponential
   * backoff) until the deadline, to ride over a lost datagram.
   * @default true
   */
  readonly retransmit?: boolean;
}

/** Options of a {@link TransportProber}. */
export interface TransportProberOptions {
  readonly transport: Transport;
  readonly clock: Clock;
  /** Stamped on every envelope; pings of other clusters are ignored. */
  readonly clusterId: string;
  /** Settings of each peer's RTT estimator. */
  readonly rtt?: RttEstimatorOptions;
  /** Install {@link TransportProber.handleEnvelope} as the transport's handler. @default false */
  readonly attachHandler?: boolean;
}

interface PendingProbe {
  readonly peer: NodeId;
  readonly firstSentMs: number;
  attempts: number;
  /** Whether an RTO expiry already backed the estimator off during this probe. */
  backedOff: boolean;
  readonly finish: (result: ProbeResult) => void;
}

function isProbeMessage(value: unknown): value is ProbeMessage {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (record['type'] === 'ping' || record['type'] === 'pong') && Number.isSafeInteger(record['nonce']);
}

/**
 * Ping/pong probes over any {@link Transport} (protocol `'probe'`), with a
 * per-peer RFC 6298 RTT estimator fed by the answers. Every node that should
 * be probeable runs one, since the same instance answers pings.
 *
 * A probe always settles by its deadline: `{ ok: true, rttMs }` or
 * `{ ok: false, reason }` with `timeout`, `unreachable` (the transport
 * reported the peer unreachable or refused the send) or `aborted`. It never
 * rejects.
 *
 * @example
 * ```ts
 * const prober = new TransportProber({ transport, clock: systemClock, clusterId: 'c1', attachHandler: true });
 * const result = await prober.probe('n2', { deadlineMs: 500 });
 * if (result.ok) console.log(`rtt ${result.rttMs} ms, rto now ${prober.estimator('n2').rtoMs} ms`);
 * else console.log(`n2 ${result.reason}`);
 * ```
 */
export class TransportProber {
  readonly localId: NodeId;
  readonly clusterId: string;
  readonly #transport: Transport;
  readonly #clock: Clock;
  readonly #rttOptions: RttEstimatorOptions;
  readonly #estimators = new Map<NodeId, RttEstimator>();
  readonly #pending = new Map<number, PendingProbe>();
  readonly #offUnreachable: () => void;
  #nonce = 0;
  #closed = false;

  constructor(options: TransportProberOptions) {
    this.localId = options.transport.localId;
    this.clusterId = options.clusterId;
    this.#transport = options.transport;
    this.#clock = options.clock;
    this.#rttOptions = options.rtt ?? {};
    // Validate estimator options now rather than at the first probe.
    new RttEstimator(this.#rttOptions);
    this.#offUnreachable = this.#transport.onUnreachable((peer) => {
      for (const probe of [...this.#pending.values()]) {
        if (probe.peer === peer) probe.finish({ ok: false, reason: 'unreachable' });
      }
    });
    if (options.attachHandler === true) this.#transport.setHandler((env) => void this.handleEnvelope(env));
  }

  /** Probes `peer`; see the class description for the outcomes. */
  probe(peer: NodeId, options: ProbeOptions = {}): Promise<ProbeResult> {
    const estimator = this.estimator(peer);
    const deadlineMs = options.deadlineMs ?? estimator.rtoMs;
    if (!(deadlineMs >= 0)) throw new InvalidArgumentError(`deadlineMs must be >= 0, got ${deadlineMs}`);
    if (options.signal?.aborted === true) return Promise.resolve({ ok: false, reason: 'aborted' });
    if (this.#closed) return Promise.resolve({ ok: false, reason: 'unreachable' });

    return new Promise<ProbeResult>((resolve) => {
      const nonce = ++this.#nonce;
      let retransmitTimer: TimerHandle | undefined;
      const onAbort = (): void => probe.finish({ ok: false, reason: 'aborted' });
      const probe: PendingProbe = {
        peer,
        firstSentMs: this.#clock.now(),
        attempts: 0,
        backedOff: false,
        finish: (result) => {
          if (!this.#pending.delete(nonce)) return;
          this.#clock.clearTimeout(deadline);
          if (retransmitTimer !== undefined) this.#clock.clearTimeout(retransmitTimer);
          options.signal?.removeEventListener('abort', onAbort);
          resolve(result);
        },
      };
      const deadline = this.#clock.setTimeout(() => {
        // RFC 6298 §5.5: back off on a timeout, once per probe.
        if (!probe.backedOff) estimator.backoff();
        probe.finish({ ok: false, reason: 'timeout' });
      }, deadlineMs);
      const transmit = (): void => {
        probe.attempts++;
        if (!this.#sendTo(peer, { type: 'ping', nonce })) {
          probe.finish({ ok: false, reason: 'unreachable' });
          return;
        }
        if (options.retransmit === false) return;
        retransmitTimer = this.#clock.setTimeout(() => {
          retransmitTimer = undefined;
          estimator.backoff();
          probe.backedOff = true;
          transmit();
        }, estimator.rtoMs);
      };
      this.#pending.set(nonce, probe);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      transmit();
    });
  }

  /**
   * Takes an envelope from the transport: answers pings, settles probes on pongs.
   * @returns true when it was a `probe` envelope, false for other protocols.
   */
  handleEnvelope(envelope: Envelope): boolean {
    if (envelope.protocol !== 'probe') return false;
    if (this.#closed || envelope.clusterId !== this.clusterId || !isProbeMessage(envelope.payload)) return true;
    const message = envelope.payload;
    if (message.type === 'ping') {
      this.#sendTo(envelope.from, { type: 'pong', nonce: message.nonce });
      return true;
    }
    const probe = this.#pending.get(message.nonce);
    if (probe === undefined || probe.peer !== envelope.from) return true;
    const rttMs = this.#clock.now() - probe.firstSentMs;
    // Karn's rule: after a retransmission we cannot tell which ping this pong
    // answers, so the time says nothing reliable about the path.
    this.estimator(probe.peer).sample(rttMs, { retransmitted: probe.attempts > 1 });
    probe.finish({ ok: true, rttMs, attempts: probe.attempts });
    return true;
  }

  /** The RTT estimator of `peer` (created on first use). */
  estimator(peer: NodeId): RttEstimator {
    let estimator = this.#estimators.get(peer);
    if (estimator === undefined) {
      estimator = new RttEstimator(this.#rttOptions);
      this.#estimators.set(peer, estimator);
    }
    return estimator;
  }

  /** Probes still waiting for an answer. */
  get pendingProbes(): number {
    return this.#pending.size;
  }

  /** Settles pending probes as `aborted` and stops answering pings. Idempotent; does not close the transport. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#offUnreachable();
    for (const probe of [...this.#pending.values()]) probe.finish({ ok: false, reason: 'aborted' });
  }

  #sendTo(peer: NodeId, payload: ProbeMessage): boolean {
    try {
      this.#transport.send(peer, { clusterId: this.clusterId, from: this.localId, to: peer, protocol: 'probe', payload });
      return true;
    } catch {
      return false;
    }
  }
}
