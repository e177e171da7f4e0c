import { AbortError, InvalidArgumentError, StoppedError } from '../errors/errors.js';
import type { Clock, TimerHandle } from '../time/clock.js';
import type { Random } from '../time/random.js';
import type { Envelope, NodeId, Transport } from '../transport/transport.js';
import { JoinFailedError } from './detection-errors.js';
import { Emitter, type EventSource } from './detection-events.js';
import type { SwimConfig } from './swim-config.js';
import { SwimCore } from './swim-core.js';
import {
  isSwimMessage,
  type JoinedEvent,
  type MemberEvent,
  type MemberInfo,
  type RefutedEvent,
  type SwimMessage,
  type UpdatedEvent,
} from './swim-types.js';

/** Events of a {@link SwimNode}: one per member state, plus join and refutation. */
export interface SwimNodeEvents {
  /** A member joined, or came back (refuted a suspicion, or rejoined after dead/left). */
  readonly alive: MemberEvent;
  readonly suspect: MemberEvent;
  readonly dead: MemberEvent;
  /** A member left gracefully. */
  readonly left: MemberEvent;
  /** A seed answered this node's join. */
  readonly joined: JoinedEvent;
  /** This node refuted a suspicion about itself. */
  readonly refuted: RefutedEvent;
  /** An alive member changed its metadata. */
  readonly updated: UpdatedEvent;
}

/** Options of a {@link SwimNode}. */
export interface SwimNodeOptions {
  /** The endpoint to run over; the node sends with protocol `'swim'`. It does not close it. */
  readonly transport: Transport;
  /** Time and timers; a `VirtualClock` in tests and simulations. */
  readonly clock: Clock;
  /** Randomness for the core; seed it to replay a run. */
  readonly random: Random;
  /** Stamped on every envelope; envelopes of other clusters are dropped. */
  readonly clusterId: string;
  /** Tuning; defaults to the LAN profile. */
  readonly config?: SwimConfig;
  /** Starting incarnation (see {@link SwimCoreOptions.incarnation}). @default 0 */
  readonly incarnation?: number;
  /** This node's metadata, gossiped with its alive state (at most 512 bytes). @default {} */
  readonly meta?: Readonly<Record<string, string>>;
  /**
   * Install {@link SwimNode.handleEnvelope} as the transport's handler. Leave
   * it off when the transport also carries other protocols and route
   * envelopes yourself.
   * @default false
   */
  readonly attachHandler?: boolean;
}

/** Counters for diagnostics. */
export interface SwimNodeStats {
  readonly messagesSent: number;
  readonly messagesReceived: number;
  /** Sends the transport refused (closed, too large). */
  readonly sendErrors: number;
  /** Received `swim` payloads that were not valid messages, or of another cluster. */
  readonly dropped: number;
}

interface JoinWaiter {
  readonly seeds: readonly NodeId[];
  readonly resolve: (via: NodeId) => void;
  readonly reject: (err: Error) => void;
  readonly cleanup: () => void;
}

/**
 * Runs a {@link SwimCore} over a {@link Transport} with a {@link Clock}: the
 * thin driver around the pure core, as etcd's `node` is around its raft core.
 * It delivers incoming `swim` envelopes to the core, sends what the core
 * outputs, keeps exactly one clock timer armed for the core's next deadline,
 * and turns the core's events into emitter events.
 *
 * @example
 * ```ts
 * const swim = new SwimNode({ transport, clock: systemClock, random: systemRandom, clusterId: 'c1', config: swimConfig('lan') });
 * transport.setHandler((env) => {
 *   if (!swim.handleEnvelope(env)) raft.receive(env); // RaftNode created with attachToTransport: false
 * });
 * swim.on('dead', (e) => console.log(`${e.member.id} failed`));
 * swim.start();
 * await swim.join(['seed-1'], { timeoutMs: 5_000 });
 * // ...
 * await swim.leave();
 * swim.stop();
 * ```
 */
export class SwimNode implements EventSource<SwimNodeEvents> {
  readonly localId: NodeId;
  readonly clusterId: string;
  readonly #transport: Transport;
  readonly #clock: Clock;
  readonly #core: SwimCore;
  readonly #events = new Emitter<SwimNodeEvents>();
  #timer: TimerHandle | undefined;
  #timerDueMs: number | undefined;
  #started = false;
  #stopped = false;
  #flushing = false;
  readonly #joinWaiters = new Set<JoinWaiter>();
  readonly #leaveWaiters = new Set<() => void>();
  #sent = 0;
  #received = 0;
  #sendErrors = 0;
  #dropped = 0;

  constructor(options: SwimNodeOptions) {
    this.localId = options.transport.localId;
    this.clusterId = options.clusterId;
    this.#transport = options.transport;
    this.#clock = options.clock;
    this.#core = new SwimCore({
      localId: this.localId,
      config: options.config,
      random: options.random,
      nowMs: options.clock.now(),
      incarnation: options.incarnation,
      meta: options.meta,
    });
    if (options.attachHandler === true) this.#transport.setHandler((env) => void this.handleEnvelope(env));
  }

  /** Starts probing, gossiping and anti-entropy. Idempotent. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#core.tick(this.#clock.now());
    this.#flush();
  }

  /**
   * Joins the group through `seeds` and resolves with the first seed that
   * answered. The request is repeated every probe interval until one answers,
   * so a lost message does not fail the join.
   *
   * @throws JoinFailedError when no seed answered within `timeoutMs` (default 5000).
   * @throws AbortError when `signal` fires; StoppedError when the node stops.
   */
  join(seeds: readonly NodeId[], options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<NodeId> {
    if (this.#stopped) return Promise.reject(new StoppedError());
    const others = seeds.filter((s) => s !== this.localId);
    if (others.length === 0) return Promise.reject(new InvalidArgumentError('join needs at least one seed other than this node'));
    if (options.signal?.aborted === true) return Promise.reject(new AbortError());
    this.start();
    return new Promise<NodeId>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? 5000;
      const deadline = this.#clock.setTimeout(() => {
        waiter.cleanup();
        reject(new JoinFailedError(others));
      }, timeoutMs);
      let retry: TimerHandle | undefined;
      const resend = (): void => {
        retry = this.#clock.setTimeout(() => {
          this.#core.join(others, this.#clock.now());
          this.#flush();
          resend();
        }, this.#core.config.probeIntervalMs);
      };
      const onAbort = (): void => {
        waiter.cleanup();
        reject(new AbortError());
      };
      const waiter: JoinWaiter = {
        seeds: others,
        resolve: (via) => {
          waiter.cleanup();
          resolve(via);
        },
        reject: (err) => {
          waiter.cleanup();
          reject(err);
        },
        cleanup: () => {
          this.#joinWaiters.delete(waiter);
          this.#clock.clearTimeout(deadline);
          if (retry !== undefined) this.#clock.clearTimeout(retry);
          options.signal?.removeEventListener('abort', onAbort);
        },
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#joinWaiters.add(waiter);
      this.#core.join(others, this.#clock.now());
      resend();
      this.#flush();
    });
  }

  /**
   * Leaves gracefully: gossips this node's departure and resolves once the
   * news has been sent as often as dissemination asks, or after `timeoutMs`
   * (default 5000), whichever comes first. Call {@link stop} afterwards.
   */
  leave(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.start();
    this.#core.leave(this.#clock.now());
    this.#flush();
    if (this.#core.leaveDisseminated) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.#leaveWaiters.delete(done);
        this.#clock.clearTimeout(timer);
        resolve();
      };
      const timer = this.#clock.setTimeout(done, options.timeoutMs ?? 5000);
      this.#leaveWaiters.add(done);
    });
  }

  /** Stops all activity. Pending joins reject with StoppedError; pending leaves resolve. Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const waiter of [...this.#joinWaiters]) waiter.reject(new StoppedError());
    for (const done of [...this.#leaveWaiters]) done();
  }

  /**
   * Takes an envelope from the transport.
   * @returns true when it was a `swim` envelope (handled or dropped), false for other protocols.
   */
  handleEnvelope(envelope: Envelope): boolean {
    if (envelope.protocol !== 'swim') return false;
    if (this.#stopped) return true;
    if (envelope.clusterId !== this.clusterId || envelope.to !== this.localId || !isSwimMessage(envelope.payload)) {
      this.#dropped++;
      return true;
    }
    this.#received++;
    this.#core.receive(envelope.from, envelope.payload, this.#clock.now());
    this.#flush();
    return true;
  }

  /**
   * Replaces this node's metadata and gossips it (raising its incarnation);
   * other members emit `updated`.
   *
   * @throws InvalidArgumentError over 512 bytes.
   * @example
   * ```ts
   * swim.setMetadata({ zone: 'eu-1', role: 'storage' });
   * other.on('updated', ({ member }) => console.log(member.id, member.meta));
   * ```
   */
  setMetadata(meta: Readonly<Record<string, string>>): void {
    this.#core.setMetadata(meta, this.#clock.now());
    this.#flush();
  }

  /** Every known member, this node included. */
  members(): MemberInfo[] {
    return this.#core.members();
  }

  /** What this node knows about `id`. */
  member(id: NodeId): MemberInfo | undefined {
    return this.#core.member(id);
  }

  /** True when `peer` is alive or suspect: SWIM keeps suspects in the group until they are declared dead. */
  isAvailable(peer: NodeId): boolean {
    const state = this.#core.member(peer)?.state;
    return state === 'alive' || state === 'suspect';
  }

  /** The pure core, for inspection (incarnation, awareness, suspicion state). */
  get core(): SwimCore {
    return this.#core;
  }

  get stats(): SwimNodeStats {
    return {
      messagesSent: this.#sent,
      messagesReceived: this.#received,
      sendErrors: this.#sendErrors,
      dropped: this.#dropped,
    };
  }

  on<K extends keyof SwimNodeEvents>(type: K, listener: (event: SwimNodeEvents[K]) => void): () => void {
    return this.#events.on(type, listener);
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerDueMs = undefined;
    if (this.#stopped) return;
    this.#core.tick(this.#clock.now());
    this.#flush();
  }

  #flush(): void {
    // Listeners may call back into the node (e.g. leave() from an event); the
    // outer flush picks up whatever they caused.
    if (this.#flushing || this.#stopped) return;
    this.#flushing = true;
    try {
      while (this.#core.hasOutput) {
        const { messages, events } = this.#core.takeOutput();
        for (const { to, message } of messages) this.#send(to, message);
        for (const event of events) {
          switch (event.type) {
            case 'joined':
              this.#events.emit('joined', event);
              for (const waiter of [...this.#joinWaiters]) if (waiter.seeds.includes(event.via)) waiter.resolve(event.via);
              break;
            case 'refuted':
              this.#events.emit('refuted', event);
              break;
            case 'updated':
              this.#events.emit('updated', event);
              break;
            default:
              this.#events.emit(event.type, event);
          }
        }
      }
      if (this.#core.leaveDisseminated) for (const done of [...this.#leaveWaiters]) done();
    } finally {
      this.#flushing = false;
    }
    this.#arm();
  }

  #send(to: NodeId, message: SwimMessage): void {
    try {
      this.#transport.send(to, { clusterId: this.clusterId, from: this.localId, to, protocol: 'swim', payload: message });
      this.#sent++;
    } catch {
      // Delivery is best effort and SWIM copes with loss; a refused send
      // (closed transport, oversize push-pull) is counted, not fatal.
      this.#sendErrors++;
    }
  }

  #arm(): void {
    if (!this.#started || this.#stopped) return;
    const due = this.#core.nextDeadline();
    // A timer already armed for the same time or earlier can stay: if it fires
    // early, the tick is a no-op and re-arms. This avoids a clear-and-set on
    // nearly every message, which matters for clocks with costly cancellation.
    if (this.#timer !== undefined && this.#timerDueMs !== undefined && due !== undefined && this.#timerDueMs <= due) {
      return;
    }
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDueMs = due;
    if (due === undefined) return;
    this.#timer = this.#clock.setTimeout(() => this.#onTimer(), Math.max(0, due - this.#clock.now()));
  }
}
