import * as grpc from '@grpc/grpc-js';
import type { Random, TimerHandle } from '@synod/core';
import { Backoff, type BackoffOptions } from './backoff.js';
import { decodeFrameOrReject, encodeHelloFrame, isRejection } from './frames.js';
import { checkAcceptorHello } from './handshake.js';
import type { LinkStream, PeerLink } from './peer-link.js';
import { CONNECT_PATH, passThrough } from './peer-service.js';
import { reject, type Rejection } from './rejection.js';
import type { StreamHost } from './stream-host.js';

/**
 * Keeps one peer's stream open from the dialling side: dials, says Hello,
 * checks the answer, and after any failure dials again after a capped,
 * jittered backoff. Each attempt uses a channel of its own, so the backoff
 * here is the only one in play.
 */
export class PeerDialer {
  readonly #link: PeerLink;
  readonly #host: StreamHost;
  readonly #backoff: Backoff;
  #address: string;
  #timer: TimerHandle | undefined;
  #attempt: DialAttempt | undefined;
  #stopped = false;
  /** The last failure logged at warn level, so a peer that keeps refusing is not logged every retry. */
  #lastWarning: string | undefined;

  constructor(link: PeerLink, address: string, host: StreamHost, backoff: BackoffOptions, random: Random) {
    this.#link = link;
    this.#address = address;
    this.#host = host;
    this.#backoff = new Backoff(backoff, random);
  }

  get address(): string {
    return this.#address;
  }

  /** Dials now. */
  start(): void {
    this.#dial();
  }

  /** Points the dialer at a new address: the current stream (if any) is dropped and the new one dialled at once. */
  setAddress(address: string): void {
    if (address === this.#address) return;
    this.#address = address;
    this.#backoff.reset();
    this.#cancelTimer();
    const attempt = this.#attempt;
    this.#attempt = undefined;
    attempt?.cancel();
    this.#dial();
  }

  /** Ends the stream gracefully (if open); resolves when it is over. */
  end(): Promise<void> {
    this.#stopped = true;
    this.#cancelTimer();
    const attempt = this.#attempt;
    if (attempt === undefined) return Promise.resolve();
    attempt.end();
    return attempt.stream.finished;
  }

  /** Stops dialling and cancels the stream at once. */
  stop(): void {
    this.#stopped = true;
    this.#cancelTimer();
    this.#attempt?.cancel();
    this.#attempt = undefined;
  }

  #cancelTimer(): void {
    if (this.#timer !== undefined) this.#host.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #dial(): void {
    if (this.#stopped || this.#host.isClosing()) return;
    const attempt = new DialAttempt(this.#link, this.#address, this.#host, {
      opened: () => {
        this.#host.logger.info({ peer: this.#link.peerId, address: this.#address }, 'peer stream open');
      },
      closed: (cause, healthy) => {
        if (this.#attempt !== attempt) return;
        this.#attempt = undefined;
        // Only a stream that served a while resets the backoff: a peer that
        // completes the handshake and then misbehaves must not be redialled
        // at the initial rate forever.
        if (healthy) {
          this.#backoff.reset();
          this.#lastWarning = undefined;
        }
        this.#retryAfter(cause);
      },
    });
    this.#attempt = attempt;
  }

  #retryAfter(cause: Error | undefined): void {
    if (this.#stopped || this.#host.isClosing()) return;
    const delayMs = this.#backoff.next();
    const fields = { peer: this.#link.peerId, address: this.#address, retryInMs: Math.round(delayMs) };
    if (cause !== undefined) {
      this.#host.lost(this.#link, cause);
      if (cause.message !== this.#lastWarning) {
        this.#lastWarning = cause.message;
        this.#host.logger.warn({ ...fields, reason: cause.message }, 'peer stream failed');
      } else {
        this.#host.logger.debug({ ...fields, reason: cause.message }, 'peer stream failed again');
      }
    } else {
      this.#host.logger.info(fields, 'peer stream ended by the peer');
    }
    this.#timer = this.#host.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#dial();
    }, delayMs);
  }
}

interface AttemptEvents {
  opened(): void;
  /**
   * The attempt is over; `cause` is undefined when the peer ended the
   * stream with OK. `healthy` says the stream was open for at least the
   * connect timeout and this node refused nothing on it.
   */
  closed(cause: Error | undefined, healthy: boolean): void;
}

/** One dial: a channel, a Connect call, the handshake, then the open stream. */
class DialAttempt {
  readonly stream: LinkStream;
  readonly #link: PeerLink;
  readonly #host: StreamHost;
  readonly #client: grpc.Client;
  readonly #call: grpc.ClientDuplexStream<Buffer, Buffer>;
  readonly #events: AttemptEvents;
  #handshakeTimer: TimerHandle | undefined;
  #open = false;
  #openedAt = 0;
  #refusedPeer = false;
  #done = false;
  /** Set when this side ended the stream for a reason of its own (a refused frame, a timeout). */
  #localFailure: Error | undefined;
  #resolveFinished!: () => void;

  constructor(link: PeerLink, address: string, host: StreamHost, events: AttemptEvents) {
    this.#link = link;
    this.#host = host;
    this.#events = events;
    const { credentials, options } = host.dialSettings(link.peerId);
    this.#client = new grpc.Client(address, credentials, options);
    this.#call = this.#client.makeBidiStreamRequest(CONNECT_PATH, passThrough, passThrough);
    const call = this.#call;
    const finished = new Promise<void>((resolve) => (this.#resolveFinished = resolve));
    this.stream = {
      write: (frame) => call.write(frame),
      onceDrain: (listener) => call.once('drain', listener),
      end: () => this.end(),
      abort: () => this.cancel(),
      finished,
    };
    call.on('data', (frame: Buffer) => this.#onFrame(frame));
    // A non-OK status arrives as both 'error' and 'status'; 'status' alone decides.
    call.on('error', () => undefined);
    call.on('status', (status: grpc.StatusObject) => this.#onStatus(status));
    this.#handshakeTimer = host.clock.setTimeout(() => {
      this.#handshakeTimer = undefined;
      this.#fail(new Error(`no answer to the hello within ${host.connectTimeoutMs} ms`));
    }, host.connectTimeoutMs);
    call.write(Buffer.from(encodeHelloFrame(host.hello(link.peerId))));
  }

  /** Half-closes after what was written (the acceptor then ends its side). */
  end(): void {
    if (this.#done) return;
    this.#call.end();
  }

  /** Cancels the call at once. */
  cancel(): void {
    if (this.#done) return;
    this.#call.cancel();
  }

  #onFrame(frame: Buffer): void {
    if (this.#done || this.#localFailure !== undefined) return;
    if (this.#open) {
      const rejection = this.#host.receive(this.#link, frame);
      if (rejection !== undefined) this.#refuse(rejection);
      return;
    }
    const decoded = decodeFrameOrReject(frame);
    if (isRejection(decoded)) return this.#refuse(decoded);
    if (decoded.kind !== 'hello') return this.#refuse(reject(grpc.status.INVALID_ARGUMENT, 'the first frame is not a hello'));
    const rejection = checkAcceptorHello(decoded.hello, this.#host.handshake, this.#link.peerId);
    if (rejection !== undefined) return this.#refuse(rejection);
    const maxMessageBytes = decoded.hello.maxMessageBytes;
    this.#clearHandshakeTimer();
    this.#open = true;
    this.#openedAt = this.#host.clock.now();
    this.#link.attach(this.stream, maxMessageBytes);
    this.#events.opened();
  }

  /** The acceptor sent something this node does not take: log it once and cancel. */
  #refuse(rejection: Rejection): void {
    this.#refusedPeer = true;
    this.#host.refused(this.#link.peerId, rejection);
    this.#fail(new Error(`refused the peer's stream: ${rejection.reason}`));
  }

  #fail(cause: Error): void {
    if (this.#done || this.#localFailure !== undefined) return;
    this.#localFailure = cause;
    this.#call.cancel();
  }

  #clearHandshakeTimer(): void {
    if (this.#handshakeTimer !== undefined) this.#host.clock.clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
  }

  #onStatus(status: grpc.StatusObject): void {
    if (this.#done) return;
    this.#done = true;
    this.#clearHandshakeTimer();
    this.#link.detach(this.stream);
    this.#client.close();
    this.#resolveFinished();
    const cause =
      this.#localFailure ??
      (status.code === grpc.status.OK ? undefined : new Error(`${grpc.status[status.code] ?? status.code}: ${status.details}`));
    const healthy = this.#open && !this.#refusedPeer && this.#host.clock.now() - this.#openedAt >= this.#host.connectTimeoutMs;
    this.#events.closed(cause, healthy);
  }
}
