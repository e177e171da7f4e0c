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
export { createSynodNatsServer } from './server/synod-nats-server.js';
export type { SynodNatsServer, SynodNatsServerOptions } from './server/synod-nats-server.js';
export { SynodNatsClient } from './client/synod-nats-client.js';
export type { SynodNatsClientOptions } from './client/synod-nats-client.js';
export { API_METHODS, API_ROOT, apiQueueGroup, apiSubject, WATCH_ROOT, watchControlSubject, watchSubject } from './subjects.js';
export { WATCH_HEADERS } from './api/watch-protocol.js';
export type { ApiMethod } from './subjects.js';
export { TIMEOUT_HEADER } from './api/replies.js';
export { SynodRpcError } from '@synod/protocol';
export type { CallOptions, CasExpectation, CasResult, DeleteResult, GetOptions, GetResult, MemberStatus, MemberStatusOptions, PutResult, SynodKvClient, WatchEvent, WatchOptions } from '@synod/protocol';
