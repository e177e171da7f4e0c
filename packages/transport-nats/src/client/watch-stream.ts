import { randomUUID } from 'node:crypto';
import { headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { kvV1, SynodRpcError, watchEventOf, type WatchEvent } from '@synod/protocol';
import { replyFailure } from '../api/replies.js';
import { WATCH_HEADERS, WATCH_SILENCE_HEARTBEATS } from '../api/watch-protocol.js';
import { watchControlSubject, watchSubject } from '../subjects.js';

/** Why a stream stopped delivering before its consumer stopped it. */
export type WatchBreak =
  | { readonly kind: 'failure'; readonly error: SynodRpcError }
  /** Messages were lost (a gap in `seq`) or the member fell silent: resume elsewhere. */
  | { readonly kind: 'lost'; readonly detail: string };

type Item =
  | { readonly kind: 'event'; readonly seq: number; readonly event: WatchEvent }
  | { readonly kind: 'beat'; readonly seq: number }
  | { readonly kind: 'break'; readonly why: WatchBreak };

/** Settings of one watch stream. */
export interface WatchStreamSettings {
  readonly clusterId: string;
  readonly window: number;
  readonly heartbeatMs: number;
}

/**
 * The receiving side of one watch on one member (see
 * `api/watch-protocol.ts`): subscribes to a fresh watch subject, and then
 * yields events in order until the member ends the stream, messages are
 * lost, or the member falls silent — each reported as a {@link WatchBreak}
 * through `broken` — or `close` is called. It acknowledges events as they
 * are taken, which is what lets the member send more.
 */
export class WatchStream {
  readonly subject: string;
  readonly #nc: NatsConnection;
  readonly #settings: WatchStreamSettings;
  readonly #subscription: Subscription;
  readonly #items: Item[] = [];
  #wake: (() => void) | undefined;
  #expected = 1;
  /** The last seq the consumer took (a heartbeat is taken on arrival when nothing waits before it). */
  #taken = 0;
  #ackedSent = 0;
  #lastHeard = Date.now();
  #member: string | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #broken = false;

  constructor(nc: NatsConnection, settings: WatchStreamSettings) {
    this.#nc = nc;
    this.#settings = settings;
    this.subject = watchSubject(settings.clusterId, randomUUID());
    this.#subscription = nc.subscribe(this.subject, { callback: (err, msg) => this.#receive(err, msg) });
  }

  /** Headers of the `KV.Watch` request that opens this stream. */
  requestHeaders(): ReturnType<typeof natsHeaders> {
    const h = natsHeaders();
    h.set(WATCH_HEADERS.subject, this.subject);
    h.set(WATCH_HEADERS.window, String(this.#settings.window));
    h.set(WATCH_HEADERS.heartbeatMs, String(this.#settings.heartbeatMs));
    return h;
  }

  /** The request was answered by `member`: acknowledge to it from now on, and watch for its silence. */
  opened(member: string): void {
    this.#member = member;
    this.#lastHeard = Date.now();
    this.#timer = setInterval(() => this.#tick(), this.#settings.heartbeatMs);
    this.#timer.unref?.();
  }

  /** The next event, or the reason the stream stopped; undefined once closed. */
  async next(): Promise<WatchEvent | WatchBreak | undefined> {
    for (;;) {
      if (this.#closed) return undefined;
      const item = this.#items.shift();
      if (item !== undefined) {
        if (item.kind === 'break') return item.why;
        this.#take(item.seq);
        if (item.kind === 'event') return item.event;
        continue;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }

  /** Stops the stream: tells the member to drop the watch and unsubscribes. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#control('cancel');
    this.#subscription.unsubscribe();
    this.#wake?.();
  }

  #push(item: Item): void {
    this.#items.push(item);
    this.#wake?.();
  }

  #break(why: WatchBreak): void {
    if (this.#broken) return;
    this.#broken = true;
    this.#push({ kind: 'break', why });
  }

  #receive(err: Error | null, msg: Msg): void {
    if (this.#broken || this.#closed) return;
    if (err !== null) {
      this.#break({ kind: 'lost', detail: `the watch subscription ended: ${err.message}` });
      return;
    }
    this.#lastHeard = Date.now();
    const seq = Number(msg.headers?.get(WATCH_HEADERS.seq) ?? '');
    if (seq !== this.#expected) {
      this.#break({ kind: 'lost', detail: `watch message ${this.#expected} lost (got ${String(seq)})` });
      return;
    }
    this.#expected++;
    switch (msg.headers?.get(WATCH_HEADERS.kind)) {
      case 'event': {
        let response: kvV1.WatchResponse;
        try {
          response = kvV1.WatchResponse.decode(msg.data);
        } catch (error) {
          this.#break({ kind: 'failure', error: new SynodRpcError(13, 'MALFORMED_REPLY', `a malformed watch event on ${this.subject}: ${String(error)}`) });
          return;
        }
        this.#push({ kind: 'event', seq, event: watchEventOf(response) });
        return;
      }
      case 'end': {
        const failure = replyFailure(msg.headers, msg.data);
        const error =
          failure === undefined
            ? new SynodRpcError(14, 'WATCH_ENDED', `member ${this.#member ?? '?'} ended the watch`)
            : new SynodRpcError(failure.grpcCode, failure.reason, failure.message, failure.leaderId);
        this.#break({ kind: 'failure', error });
        return;
      }
      default:
        // A heartbeat: taken at once when no event waits before it.
        if (this.#items.length === 0) this.#take(seq);
        else this.#push({ kind: 'beat', seq });
    }
  }

  #take(seq: number): void {
    this.#taken = seq;
    if (this.#taken - this.#ackedSent >= Math.max(1, Math.floor(this.#settings.window / 2))) this.#control('ack');
  }

  #tick(): void {
    if (this.#closed || this.#broken) return;
    if (Date.now() - this.#lastHeard > WATCH_SILENCE_HEARTBEATS * this.#settings.heartbeatMs) {
      this.#break({ kind: 'lost', detail: `member ${this.#member ?? '?'} fell silent` });
      return;
    }
    this.#control('ack');
  }

  #control(kind: 'ack' | 'cancel'): void {
    if (this.#member === undefined) return;
    const h = natsHeaders();
    h.set(WATCH_HEADERS.subject, this.subject);
    h.set(WATCH_HEADERS.kind, kind);
    h.set(WATCH_HEADERS.acked, String(this.#taken));
    if (kind === 'ack') this.#ackedSent = this.#taken;
    try {
      this.#nc.publish(watchControlSubject(this.#settings.clusterId, this.#member), new Uint8Array(0), { headers: h });
    } catch {
      // The connection is closed or reconnecting: silence detection takes over.
    }
  }
}
