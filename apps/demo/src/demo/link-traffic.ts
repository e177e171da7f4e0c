import type { NodeId } from '@synod/core';
import type { NetworkEvent } from '@synod/transport-memory';

/**
 * Counts messages per directed link over a sliding one-second window, from
 * the memory network's `send` events. The network's own stats count per node
 * and per protocol; the dashboard's graph needs per link.
 */
export class LinkTraffic {
  readonly #windowMs: number;
  /** Send times per link key "from>to", oldest first. */
  readonly #sends = new Map<string, number[]>();

  constructor(windowMs = 1000) {
    this.#windowMs = windowMs;
  }

  /** Feed it every network event; it keeps the sends. */
  observe(event: NetworkEvent): void {
    if (event.type !== 'send') return;
    const key = `${event.envelope.from}>${event.envelope.to}`;
    let times = this.#sends.get(key);
    if (times === undefined) {
      times = [];
      this.#sends.set(key, times);
    }
    times.push(event.at);
  }

  /** Messages sent on `from → to` during the window ending at `now`. */
  perSecond(from: NodeId, to: NodeId, now: number): number {
    const times = this.#sends.get(`${from}>${to}`);
    if (times === undefined) return 0;
    const cutoff = now - this.#windowMs;
    let first = 0;
    while (first < times.length && times[first]! <= cutoff) first++;
    if (first > 0) times.splice(0, first);
    return Math.round((times.length * 1000) / this.#windowMs);
  }
}
