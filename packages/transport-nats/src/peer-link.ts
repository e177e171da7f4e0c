import { SendQueue, type NodeId, type TimerHandle } from '@synod/core';

/** What this node last learnt about a peer from its probes. */
export type PeerReachability = 'unknown' | 'reachable' | 'unreachable';

/** Counters of one peer, as `NatsTransport.stats()` reports them. */
export interface NatsPeerStats {
  /** `reachable` after an acknowledged probe, `unreachable` after a failed one (or a lost connection). */
  readonly reachability: PeerReachability;
  readonly queuedEnvelopes: number;
  readonly queuedBytes: number;
  /** Envelopes dropped for this peer: evicted from a full queue, or refused by the client. */
  readonly dropped: number;
  /** NATS messages published to this peer (a chunked batch counts once). */
  readonly messagesSent: number;
  readonly envelopesSent: number;
  /** Payload bytes published to this peer, chunks included. */
  readonly bytesSent: number;
  /** Envelopes received from this peer and handed to the handler. */
  readonly envelopesReceived: number;
  /** Messages from this peer refused whole (a bad envelope, a spoofed sender, ...). */
  readonly rejectedMessages: number;
}

/** The probe in flight to a peer: a message published with a reply subject. */
export interface Probe {
  readonly id: number;
  readonly timer: TimerHandle;
}

/**
 * Everything one node keeps about one peer: the bounded queue of envelopes
 * waiting to be published to it, the probe in flight, and counters.
 */
export class PeerLink {
  readonly peerId: NodeId;
  readonly subject: string;
  readonly queue: SendQueue;
  probe: Probe | undefined;
  reachability: PeerReachability = 'unknown';
  /** When the transport last reported this peer unreachable. */
  lastReportAt = Number.NEGATIVE_INFINITY;
  /** The last reason a message from this peer was refused, so repeats are logged quietly. */
  lastRejection: string | undefined;
  dropped = 0;
  messagesSent = 0;
  envelopesSent = 0;
  bytesSent = 0;
  envelopesReceived = 0;
  rejectedMessages = 0;

  constructor(peerId: NodeId, subject: string, queueLength: number, queueBytes: number) {
    this.peerId = peerId;
    this.subject = subject;
    this.queue = new SendQueue(queueLength, queueBytes);
  }

  stats(): NatsPeerStats {
    return {
      reachability: this.reachability,
      queuedEnvelopes: this.queue.length,
      queuedBytes: this.queue.bytes,
      dropped: this.dropped,
      messagesSent: this.messagesSent,
      envelopesSent: this.envelopesSent,
      bytesSent: this.bytesSent,
      envelopesReceived: this.envelopesReceived,
      rejectedMessages: this.rejectedMessages,
    };
  }
}
