/**
 * `@synod/transport-memory`: an in-process network for Synod nodes, with
 * seeded, scriptable faults and delivery driven by an injected clock.
 *
 * - {@link MemoryNetwork} joins any number of nodes; {@link MemoryNetwork.endpoint}
 *   gives each node a {@link MemoryTransport} implementing the core `Transport`
 *   contract.
 * - Faults come only from the injected `Random`: drop, delay (fixed, uniform,
 *   exponential with a cap), duplication, reordering, per-link overrides,
 *   partitions, one-way cuts, isolation, crash and restart. One seed replays a
 *   run exactly.
 * - With a `VirtualClock`, runs are deterministic and as fast as the CPU;
 *   with `systemClock`, messages arrive in real time (used by `synod demo`).
 * - An optional codec round trip catches aliasing and encoding bugs.
 * - {@link MemoryNetwork.stats} counts messages per node and per protocol.
 *
 * @example
 * ```ts
 * import { SeededRandom, VirtualClock } from '@synod/core';
 * import { MemoryNetwork } from '@synod/transport-memory';
 *
 * const clock = new VirtualClock();
 * const network = new MemoryNetwork({ clock, random: new SeededRandom(1), clusterId: 'c1' });
 * const [a, b, c] = ['a', 'b', 'c'].map((id) => network.endpoint(id));
 * b.setHandler((envelope) => console.log(`b got ${envelope.protocol} at ${clock.now()} ms`));
 *
 * network.setFaults({ dropRate: 0.1, delay: { kind: 'uniform', minMs: 1, maxMs: 20 } });
 * network.partition([['a', 'b'], ['c']]);
 * a.send('b', { clusterId: 'c1', from: 'a', to: 'b', protocol: 'raft', payload: new Uint8Array([1]) });
 * clock.advance(20);
 * network.heal();
 * console.log(network.stats().total);
 * ```
 *
 * @packageDocumentation
 */
export { MemoryNetwork, DEFAULT_MAX_MESSAGE_BYTES } from './memory-network.js';
export type { MemoryNetworkOptions, NodeStatus } from './memory-network.js';
export { MemoryTransport } from './memory-transport.js';
export { DEFAULT_DELAY, sampleDelay } from './faults.js';
export type { DelayDistribution, LinkFaults, ReorderFaults, ResolvedLinkFaults } from './faults.js';
export { estimateEnvelopeSize } from './size.js';
export type { EnvelopeCodec, EnvelopeSizer } from './size.js';
export type { DropReason, MessageCounters, NetworkStats } from './stats.js';
export type { NetworkEvent, NetworkObserver } from './events.js';
