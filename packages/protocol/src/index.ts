/**
 * `@synod/protocol`: the Synod wire contract. It ships the `.proto` sources
 * (in `proto/`, for clients in other languages), the committed ts-proto
 * output, and codecs between the cores' message objects and wire bytes.
 *
 * @example
 * ```ts
 * import { createEnvelopeCodec } from '@synod/protocol';
 * const codec = createEnvelopeCodec();
 * const bytes = codec.encode({ clusterId: 'c', from: 'a', to: 'b', protocol: 'raft', payload: msg });
 * ```
 *
 * @packageDocumentation
 */
export * from './codec/envelope-codec.js';
export * from './codec/raft-codec.js';
export * from './codec/paxos-codec.js';
export * from './codec/swim-codec.js';
export * from './codec/envelope-batch.js';
export * as paxosV1 from './gen/synod/peer/v1/paxos.js';
export * as peerV1 from './gen/synod/peer/v1/raft.js';
export * as swimV1 from './gen/synod/peer/v1/swim.js';
export * as envelopeV1 from './gen/synod/peer/v1/envelope.js';
export * as peerServiceV1 from './gen/synod/peer/v1/peer.js';
export * as kvV1 from './gen/synod/kv/v1/kv.js';
export * as clusterV1 from './gen/synod/cluster/v1/cluster.js';
// The KV and Cluster services and client types shared by the gRPC and NATS transports.
export * from './service/index.js';
