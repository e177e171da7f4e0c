import type { status } from '@grpc/grpc-js';
import { SendQueue, type NodeId } from '@synod/core';
import { batchEntrySize } from '@synod/protocol';
import { encodeBatchFrame } from './frames.js';

/** The open stream a link writes its frames to, whichever side dialled it. */
export interface LinkStream {
  /** Writes one frame; false when the stream wants the writer to wait for {@link LinkStream.onceDrain}. */
  write(frame: Buffer): boolean;
  onceDrain(listener: () => void): void;
  /** Ends this side after what was written: the dialer half-closes, the acceptor sends OK. */
  end(): void;
  /** Ends the stream at once with `code` (the acceptor sends it as the status; the dialer cancels). */
  abort(code: status, reason: string): void;
  /** Settles when the stream is over, either way. */
  readonly finished: Promise<void>;
}

/** What a link needs from its transport. */
export interface LinkHost {
  readonly maxMessageBytes: number;
  now(): number;
  /** A peer was (or stayed) unreachable; the host rate-limits the reports. */
  unreachable(link: PeerLink, cause: Error): void;
  /** An envelope was queued while the link had no stream. */
  queuedWhileDown(link: PeerLink): void;
  /** A queued envelope is larger than the peer accepts (its limit is below ours), and was dropped. */
  tooLargeForPeer(link: PeerLink, bytes: number): void;
  /** Counts a frame written. */
  frameSent(envelopes: number, bytes: number): void;
}

/** Counters of one link, as {@link GrpcTransport.stats} reports them. */
export interface PeerLinkStats {
  /** `open` while a stream carries frames, else `down`. */
  readonly state: 'open' | 'down';
  readonly queuedEnvelopes: number;
  readonly queuedBytes: number;
  /** Envelopes dropped for this peer: evicted from a full queue, or too large for it. */
  readonly dropped: number;
  readonly framesSent: number;
  readonly envelopesSent: number;
  /** Bytes of the frames written to this peer. */
  readonly bytesSent: number;
  /** Envelopes received from this peer and handed to the handler. */
  readonly envelopesReceived: number;
}

/**
 * Everything one node keeps about one peer: the bounded queue of envelopes
 * waiting for it, and the stream (dialled or accepted) they leave on.
 *
 * Envelopes queue while there is no stream, and while the stream pushes
 * back. Whatever is queued when the stream can take more leaves as one
 * batch frame of up to the peer's `maxMessageBytes`: under load, frames grow
 * and their number does not.
 */
export class PeerLink {
  readonly peerId: NodeId;
  readonly #host: LinkHost;
  readonly #queue: SendQueue;
  #stream: LinkStream | undefined;
  #writable = false;
  #flushScheduled = false;
  #peerMaxMessageBytes: number;
  /** When the link last lost (or never had) a stream, on the host's clock. */
  downSince: number;
  /** When the host last reported this peer unreachable. */
  lastReportAt = Number.NEGATIVE_INFINITY;
  #dropped = 0;
  #framesSent = 0;
  #envelopesSent = 0;
  #bytesSent = 0;
  #envelopesReceived = 0;

  constructor(peerId: NodeId, host: LinkHost, queueLength: number, queueBytes: number) {
    this.peerId = peerId;
    this.#host = host;
    this.#queue = new SendQueue(queueLength, queueBytes);
    this.#peerMaxMessageBytes = host.maxMessageBytes;
    this.downSince = host.now();
  }

  get open(): boolean {
    return this.#stream !== undefined;
  }

  get stream(): LinkStream | undefined {
    return this.#stream;
  }

  stats(): PeerLinkStats {
    return {
      state: this.open ? 'open' : 'down',
      queuedEnvelopes: this.#queue.length,
      queuedBytes: this.#queue.bytes,
      dropped: this.#dropped,
      framesSent: this.#framesSent,
      envelopesSent: this.#envelopesSent,
      bytesSent: this.#bytesSent,
      envelopesReceived: this.#envelopesReceived,
    };
  }

  /** Queues one encoded envelope; a full queue drops its oldest and reports the peer. */
  enqueue(envelope: Uint8Array): void {
    const evicted = this.#queue.push(envelope);
    if (evicted > 0) {
      this.#dropped += evicted;
      this.#host.unreachable(this, new Error(`send queue to ${this.peerId} is full; dropped the oldest ${evicted === 1 ? 'envelope' : `${evicted} envelopes`}`));
    }
    if (this.#stream !== undefined) this.#scheduleFlush();
    else this.#host.queuedWhileDown(this);
  }

  /** Makes `stream` the link's stream (after a successful handshake) and sends what is queued. */
  attach(stream: LinkStream, peerMaxMessageBytes: number): void {
    this.#stream = stream;
    this.#writable = true;
    // A peer that did not say accepts what we do.
    this.#peerMaxMessageBytes = peerMaxMessageBytes > 0 ? Math.min(peerMaxMessageBytes, this.#host.maxMessageBytes) : this.#host.maxMessageBytes;
    this.#scheduleFlush();
  }

  /** Forgets `stream` if it is the link's; returns whether it was. */
  detach(stream: LinkStream): boolean {
    if (this.#stream !== stream) return false;
    this.#stream = undefined;
    this.#writable = false;
    this.downSince = this.#host.now();
    return true;
  }

  /** Counts envelopes received from the peer. */
  received(envelopes: number): void {
    this.#envelopesReceived += envelopes;
  }

  /** Drops everything queued (the peer left the membership, or the transport closed). */
  clear(): void {
    this.#dropped += this.#queue.clear();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // Sends made in the same turn of the event loop (a Raft Ready's
    // messages, say) leave together in one frame.
    queueMicrotask(() => {
      this.#flushScheduled = false;
      this.flush();
    });
  }

  /** Writes queued envelopes as batch frames until the queue is empty or the stream pushes back. */
  flush(): void {
    while (this.#stream !== undefined && this.#writable && this.#queue.length > 0) {
      const stream = this.#stream;
      const batch: Uint8Array[] = [];
      let entriesBytes = 0;
      for (let next = this.#queue.peek(); next !== undefined; next = this.#queue.peek()) {
        if (next.byteLength > this.#peerMaxMessageBytes) {
          this.#queue.shift();
          this.#dropped++;
          this.#host.tooLargeForPeer(this, next.byteLength);
          continue;
        }
        const entry = batchEntrySize(next.byteLength);
        if (batch.length > 0 && entriesBytes + entry > this.#peerMaxMessageBytes) break;
        batch.push(this.#queue.shift()!);
        entriesBytes += entry;
      }
      if (batch.length === 0) return;
      const frame = encodeBatchFrame(batch, entriesBytes);
      this.#framesSent++;
      this.#envelopesSent += batch.length;
      this.#bytesSent += frame.byteLength;
      this.#host.frameSent(batch.length, frame.byteLength);
      this.#writable = stream.write(frame);
      if (!this.#writable) {
        stream.onceDrain(() => {
          if (this.#stream !== stream) return;
          this.#writable = true;
          this.flush();
        });
      }
    }
  }
}
