import { SeededRandom, VirtualClock, type Envelope, type NodeId, type ProtocolName } from '@synod/core';
import { MemoryNetwork, type EnvelopeCodec, type MemoryNetworkOptions } from '../../src/index.js';

export const CLUSTER = 'test-cluster';

export interface Harness {
  readonly clock: VirtualClock;
  readonly network: MemoryNetwork;
}

/** A network on a virtual clock, seeded, in cluster {@link CLUSTER}. */
export function virtualNetwork(options: Partial<MemoryNetworkOptions> & { seed?: number } = {}): Harness {
  const { seed = 1, ...rest } = options;
  const clock = new VirtualClock();
  const network = new MemoryNetwork({ clock, random: new SeededRandom(seed), clusterId: CLUSTER, ...rest });
  return { clock, network };
}

export function envelope(
  from: NodeId,
  to: NodeId,
  payload: unknown = new Uint8Array([1]),
  protocol: ProtocolName = 'raft',
): Envelope {
  return { clusterId: CLUSTER, from, to, protocol, payload };
}

export interface Arrival {
  readonly at: number;
  readonly node: NodeId;
  readonly envelope: Envelope;
}

/** Creates endpoints for `ids` and records everything they receive, with the time. */
export function recordArrivals({ clock, network }: Harness, ids: readonly NodeId[]): Arrival[] {
  const arrivals: Arrival[] = [];
  for (const id of ids) {
    network.endpoint(id).setHandler((e) => arrivals.push({ at: clock.now(), node: id, envelope: e }));
  }
  return arrivals;
}

/** Runs every pending timer; with no periodic timers on the clock this empties the network. */
export function drain(clock: VirtualClock): void {
  while (clock.runNext()) {
    // keep going until nothing is scheduled
  }
}

/**
 * A small codec for these tests: JSON with `Uint8Array` payloads as number
 * arrays. (The general-purpose test codec lives in `@synod/testkit`, which
 * this package cannot depend on.)
 */
export const payloadBytesCodec: EnvelopeCodec = {
  encode(e) {
    const payload = e.payload instanceof Uint8Array ? { bytes: Array.from(e.payload) } : { json: e.payload };
    return new TextEncoder().encode(JSON.stringify({ ...e, payload }));
  },
  decode(bytes) {
    const raw = JSON.parse(new TextDecoder().decode(bytes)) as Omit<Envelope, 'payload'> & {
      payload: { bytes?: number[]; json?: unknown };
    };
    const payload = raw.payload.bytes !== undefined ? new Uint8Array(raw.payload.bytes) : raw.payload.json;
    return { ...raw, payload };
  },
};
