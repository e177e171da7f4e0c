/**
 * `@synod/transport-nats`: the Synod peer transport over NATS subjects
 * (`NatsTransport`), on `@nats-io/transport-node`.
 *
 * @example
 * ```ts
 * import { NatsTransport } from '@synod/transport-nats';
 * const transport = new NatsTransport({ localId: 'n1', clusterId: 'c1', peers: ['n2', 'n3'], servers: 'nats://127.0.0.1:4222' });
 * await transport.start();
 * ```
 *
 * @packageDocumentation
 */
export { NatsConnectError, NatsTransport } from './nats-transport.js';
export type { NatsConnectionState, NatsTransportStats } from './nats-transport.js';
export type { NatsPeerStats, PeerReachability } from './peer-link.js';
export { DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_RECONNECT } from './options.js';
export type { NatsAuth, NatsPeers, NatsReconnectOptions, NatsTlsOptions, NatsTransportOptions } from './options.js';
export { ackSubject, ownSubjects, peerSubject, SUBJECT_ROOT } from './subjects.js';
export { CHUNK_HEADER } from './chunks.js';
export { bytesPayloadCodec } from './bytes-codec.js';
