import { headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { InvalidArgumentError, type KvStateMachine, type Logger, type NodeId } from '@synod/core';
import { kvV1, openKvWatch, serviceFailure, ServiceCallError, type KvWatchRegistry, type LeaderView, type OpenKvWatch } from '@synod/protocol';
import { isWatchSubjectFor } from '../subjects.js';
import { failureReply } from './replies.js';
import {
  DEFAULT_WATCH_HEARTBEAT_MS,
  DEFAULT_WATCH_WINDOW,
  MAX_WATCH_HEARTBEAT_MS,
  MAX_WATCH_WINDOW,
  MIN_WATCH_HEARTBEAT_MS,
  WATCH_HEADERS,
  WATCH_SILENCE_HEARTBEATS,
} from './watch-protocol.js';

/** What the watch side of one node's API needs. */
export interface WatchServiceContext {
  readonly clusterId: string;
  readonly nodeId: NodeId;
  readonly store: KvStateMachine;
  readonly registry: KvWatchRegistry;
  header(revision?: number): kvV1.ResponseHeader;
  /** Bytes of events a slow watcher may leave buffered before its watch ends with WATCH_TOO_SLOW. */
  readonly maxWatchBufferBytes: number;
  readonly logger: Logger;
  leaderView(): LeaderView;
  /** The clock, for silence detection. @default Date.now */
  readonly now?: () => number;
}

interface Pending {
  readonly data: Uint8Array;
  readonly kind: 'event';
}

/** One watch this node serves over NATS (see watch-protocol.ts). */
class NatsWatch {
  #seq = 0;
  #acked = 0;
  #queue: Pending[] = [];
  #queuedBytes = 0;
  #lastHeard: number;
  #open = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #watch: OpenKvWatch | undefined;
  #done = false;

  constructor(
    readonly subject: string,
    readonly window: number,
    readonly heartbeatMs: number,
    readonly connection: NatsConnection,
    readonly context: WatchServiceContext,
    readonly onDone: (watch: NatsWatch) => void,
  ) {
    this.#lastHeard = this.#now();
  }

  #now(): number {
    return (this.context.now ?? Date.now)();
  }

  /**
   * Opens the store watch; events replayed meanwhile wait until `reply` has
   * been answered, so the client hears the outcome of its request first.
   * Returns the failure to answer with when the watch could not start.
   */
  start(request: kvV1.WatchRequest): unknown {
    let startFailure: unknown;
    let starting = true;
    this.#watch = openKvWatch(this.context.store, this.context.registry, request, (revision) => this.context.header(revision), {
      send: (response, revision) => this.#enqueue(kvV1.WatchResponse.encode(response).finish(), revision),
      end: (error) => {
        if (starting) startFailure = error;
        else this.#end(error);
      },
    });
    starting = false;
    if (startFailure !== undefined) {
      this.#finish();
      return startFailure;
    }
    return undefined;
  }

  /** After the open reply went out: flush what the replay queued and start heartbeats. */
  run(): void {
    if (this.#done) return;
    this.#open = true;
    this.#drain();
    this.#timer = setInterval(() => this.#beat(), this.heartbeatMs);
    this.#timer.unref?.();
  }

  ack(seq: number): void {
    this.#lastHeard = this.#now();
    if (seq > this.#acked && seq <= this.#seq) this.#acked = seq;
    this.#drain();
  }

  /** Ends the watch without a message (the client cancelled or went away). */
  cancel(): void {
    this.#watch?.stop();
    this.#finish();
  }

  /** Ends the watch with a typed error, told to the client. */
  fail(error: unknown): void {
    this.#watch?.fail(error);
  }

  #enqueue(data: Uint8Array, revision: number): Error | undefined {
    this.#queue.push({ data, kind: 'event' });
    this.#queuedBytes += data.length;
    this.#drain();
    if (this.#queuedBytes > this.context.maxWatchBufferBytes) {
      return new ServiceCallError(
        'WATCH_TOO_SLOW',
        `the watcher fell more than ${this.context.maxWatchBufferBytes} bytes behind; resume from revision ${revision + 1}`,
      );
    }
    return undefined;
  }

  #drain(): void {
    if (!this.#open || this.#done) return;
    while (this.#queue.length > 0 && this.#seq - this.#acked < this.window) {
      const next = this.#queue.shift()!;
      this.#queuedBytes -= next.data.length;
      if (!this.#publish(next.kind, next.data)) return;
    }
  }

  #beat(): void {
    if (this.#done) return;
    if (this.#now() - this.#lastHeard > WATCH_SILENCE_HEARTBEATS * this.heartbeatMs) {
      this.context.logger.debug({ subject: this.subject }, 'watch client silent; watch dropped');
      this.cancel();
      return;
    }
    this.#publish('heartbeat', new Uint8Array(0));
  }

  #end(error: unknown): void {
    if (this.#done) return;
    const failure = serviceFailure(error, this.context.leaderView());
    if (failure.reason === 'INTERNAL') this.context.logger.error({ err: error, subject: this.subject }, 'watch failed unexpectedly');
    const reply = failureReply(failure);
    // Events still queued are dropped: the end tells the client where to resume.
    this.#queue = [];
    this.#queuedBytes = 0;
    if (this.#open) this.#publish('end', reply.data, reply.headers);
    this.#finish();
  }

  #publish(kind: 'event' | 'heartbeat' | 'end', data: Uint8Array, headers: MsgHdrs = natsHeaders()): boolean {
    headers.set(WATCH_HEADERS.kind, kind);
    headers.set(WATCH_HEADERS.seq, String(++this.#seq));
    try {
      this.connection.publish(this.subject, data, { headers });
      return true;
    } catch (error) {
      // A closed connection or an event above max_payload: the client will
      // see the gap or the silence and resume.
      this.context.logger.warn({ err: error, subject: this.subject }, 'watch message not published; watch dropped');
      this.cancel();
      return false;
    }
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.onDone(this);
  }
}

function boundedHeader(value: string | undefined, fallback: number, min: number, max: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`header ${name} must be an integer in [${min}, ${max}], got '${value}'`);
  return n;
}

/** The watches of one node over NATS: `KV.Watch` requests and their control messages. */
export interface WatchService {
  /** Handles a `KV.Watch` request. */
  open(msg: Msg): void;
  /** Handles an ack or cancel on this node's control subject. */
  control(msg: Msg): void;
  /** Open watches. */
  readonly size: number;
  /** Ends every watch without telling its client (the registry's `closeAll` tells them first). */
  stop(): void;
}

/** Serves the `KV.Watch` streams of one node (see watch-protocol.ts). */
export function createWatchService(connection: NatsConnection, context: WatchServiceContext): WatchService {
  const watches = new Map<string, NatsWatch>();
  const answerFailure = (msg: Msg, error: unknown): void => {
    const reply = failureReply(serviceFailure(error, context.leaderView()));
    msg.respond(reply.data, { headers: reply.headers });
  };
  return {
    get size() {
      return watches.size;
    },
    open(msg) {
      if (msg.reply === undefined || msg.reply === '') return;
      let request: kvV1.WatchRequest;
      let watch: NatsWatch;
      try {
        const subject = msg.headers?.get(WATCH_HEADERS.subject) ?? '';
        if (!isWatchSubjectFor(subject, context.clusterId)) {
          throw new InvalidArgumentError(`header ${WATCH_HEADERS.subject} must be a subject synod-watch.${context.clusterId}.<id>, got '${subject}'`);
        }
        const window = boundedHeader(msg.headers?.get(WATCH_HEADERS.window), DEFAULT_WATCH_WINDOW, 1, MAX_WATCH_WINDOW, WATCH_HEADERS.window);
        const heartbeatMs = boundedHeader(
          msg.headers?.get(WATCH_HEADERS.heartbeatMs),
          DEFAULT_WATCH_HEARTBEAT_MS,
          MIN_WATCH_HEARTBEAT_MS,
          MAX_WATCH_HEARTBEAT_MS,
          WATCH_HEADERS.heartbeatMs,
        );
        try {
          request = kvV1.WatchRequest.decode(msg.data);
        } catch (error) {
          throw new InvalidArgumentError(`malformed request: ${error instanceof Error ? error.message : String(error)}`);
        }
        // A request repeated on the same subject replaces the earlier watch.
        watches.get(subject)?.cancel();
        watch = new NatsWatch(subject, window, heartbeatMs, connection, context, (done) => {
          if (watches.get(done.subject) === done) watches.delete(done.subject);
        });
      } catch (error) {
        answerFailure(msg, error);
        return;
      }
      watches.set(watch.subject, watch);
      const failure = watch.start(request);
      if (failure !== undefined) {
        answerFailure(msg, failure);
        return;
      }
      const h = natsHeaders();
      h.set(WATCH_HEADERS.member, context.nodeId);
      if (!msg.respond(new Uint8Array(0), { headers: h })) {
        watch.cancel();
        return;
      }
      watch.run();
    },
    control(msg) {
      const subject = msg.headers?.get(WATCH_HEADERS.subject) ?? '';
      const watch = watches.get(subject);
      if (watch === undefined) return;
      const kind = msg.headers?.get(WATCH_HEADERS.kind);
      if (kind === 'cancel') {
        watch.cancel();
        return;
      }
      const acked = Number(msg.headers?.get(WATCH_HEADERS.acked) ?? '');
      watch.ack(Number.isSafeInteger(acked) ? acked : 0);
    },
    stop() {
      for (const watch of [...watches.values()]) watch.cancel();
    },
  };
}
