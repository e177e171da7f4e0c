import type { NodeId, ProtocolName } from '@synod/core';

/**
 * Why the network did not deliver a message.
 *
 * - `fault`: lost to the configured drop rate.
 * - `partition`: a partition, a cut link or an isolated node was in the way,
 *   when it was sent or when it would have arrived.
 * - `unreachable`: the receiver was crashed, closed or unknown.
 * - `sender-down`: the sender was crashed when it sent.
 * - `cluster-mismatch`: the envelope's cluster id was not the network's.
 * - `no-handler`: the receiver was up but had no handler set.
 */
export type DropReason = 'fault' | 'partition' | 'unreachable' | 'sender-down' | 'cluster-mismatch' | 'no-handler';

/**
 * Message counts. For a node, `sent`, `bytesSent`, `dropped` and `duplicated`
 * count messages it sent, and `delivered` counts messages it received. For a
 * protocol or the whole network, everything counts messages of that protocol.
 */
export interface MessageCounters {
  /** Calls to `send` that passed validation (size, closed). */
  sent: number;
  /** Bytes sent: the encoded size with a codec, otherwise the estimate. */
  bytesSent: number;
  /** Copies handed to a handler, duplicates included. */
  delivered: number;
  /** Messages or copies that never reached a handler. */
  dropped: number;
  /** Extra copies the network created. */
  duplicated: number;
}

/** A snapshot of the network's counters; see {@link MessageCounters}. */
export interface NetworkStats {
  readonly total: Readonly<MessageCounters>;
  readonly byNode: ReadonlyMap<NodeId, Readonly<MessageCounters>>;
  readonly byProtocol: ReadonlyMap<ProtocolName, Readonly<MessageCounters>>;
  readonly dropsByReason: Readonly<Record<DropReason, number>>;
}

function zero(): MessageCounters {
  return { sent: 0, bytesSent: 0, delivered: 0, dropped: 0, duplicated: 0 };
}

function noDrops(): Record<DropReason, number> {
  return {
    fault: 0,
    partition: 0,
    unreachable: 0,
    'sender-down': 0,
    'cluster-mismatch': 0,
    'no-handler': 0,
  };
}

function countSent(counters: MessageCounters, bytes: number): void {
  counters.sent++;
  counters.bytesSent += bytes;
}

/** Mutable counters behind {@link NetworkStats}; internal to the package. */
export class StatsRecorder {
  #total = zero();
  #byNode = new Map<NodeId, MessageCounters>();
  #byProtocol = new Map<ProtocolName, MessageCounters>();
  #drops = noDrops();

  #node(id: NodeId): MessageCounters {
    let counters = this.#byNode.get(id);
    if (counters === undefined) {
      counters = zero();
      this.#byNode.set(id, counters);
    }
    return counters;
  }

  #protocol(name: ProtocolName): MessageCounters {
    let counters = this.#byProtocol.get(name);
    if (counters === undefined) {
      counters = zero();
      this.#byProtocol.set(name, counters);
    }
    return counters;
  }

  sent(from: NodeId, protocol: ProtocolName, bytes: number): void {
    countSent(this.#total, bytes);
    countSent(this.#node(from), bytes);
    countSent(this.#protocol(protocol), bytes);
  }

  delivered(to: NodeId, protocol: ProtocolName): void {
    this.#total.delivered++;
    this.#node(to).delivered++;
    this.#protocol(protocol).delivered++;
  }

  dropped(from: NodeId, protocol: ProtocolName, reason: DropReason): void {
    this.#total.dropped++;
    this.#node(from).dropped++;
    this.#protocol(protocol).dropped++;
    this.#drops[reason]++;
  }

  duplicated(from: NodeId, protocol: ProtocolName): void {
    this.#total.duplicated++;
    this.#node(from).duplicated++;
    this.#protocol(protocol).duplicated++;
  }

  snapshot(): NetworkStats {
    const copy = (m: Map<string, MessageCounters>): Map<string, MessageCounters> =>
      new Map([...m].map(([k, v]) => [k, { ...v }]));
    return {
      total: { ...this.#total },
      byNode: copy(this.#byNode),
      byProtocol: copy(this.#byProtocol),
      dropsByReason: { ...this.#drops },
    };
  }

  reset(): void {
    this.#total = zero();
    this.#byNode.clear();
    this.#byProtocol.clear();
    this.#drops = noDrops();
  }
}
