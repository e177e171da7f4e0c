/**
 * `@synod/transport-grpc`: the Synod peer transport over gRPC (`GrpcTransport`),
 * with mutual TLS that binds each node id to its certificate.
 *
 * @example
 * ```ts
 * import { GrpcTransport } from '@synod/transport-grpc';
 * const transport = new GrpcTransport({ localId: 'n1', clusterId: 'c1', peers: { n2: '127.0.0.1:7002' }, listen: '127.0.0.1:7001', security: { insecure: true } });
 * await transport.start();
 * ```
 *
 * @packageDocumentation
 */
export { GrpcTransport } from './grpc-transport.js';
export type { GrpcTransportStats } from './grpc-transport.js';
export type { PeerLinkStats } from './peer-link.js';
export {
  createPeerServerOptions,
  DEFAULT_KEEPALIVE,
  DEFAULT_MAX_MESSAGE_BYTES,
} from './options.js';
export type { GrpcTransportOptions, KeepaliveOptions, PeerAddresses, PeerServerOptionsInput } from './options.js';
export { Backoff, DEFAULT_BACKOFF } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { createChannelCredentials, createServerCredentials } from './security.js';
export type { ChannelCredentialsOptions, ClientSecurity, GrpcSecurity, Pem, TlsOptions } from './security.js';
export {
  SPIFFE_TRUST_DOMAIN,
  clientSpiffeId,
  identityOfCertificate,
  nodeSpiffeId,
} from './identity.js';
export type { CertificateIdentity } from './identity.js';
export { bytesPayloadCodec } from './bytes-codec.js';
export { STREAM_PROTOCOL_VERSION } from './frames.js';
export { rawPeerService as peerServiceDefinition } from './peer-service.js';
export { createSynodServer, HEALTH_SERVICES } from './server/synod-server.js';
export type { SynodServer, SynodServerOptions } from './server/synod-server.js';
export type { DetectionViewEntry } from '@synod/protocol';
export {
  ERROR_METADATA,
  STATUS_OF_ERROR_CODE,
  ServiceCallError,
  SessionExpiredError,
  StaleSequenceError,
} from './server/errors.js';
export { ERROR_DOMAIN, ERROR_INFO_TYPE_URL, decodeRpcStatus, encodeRpcStatus } from '@synod/protocol';
export type { ErrorInfo, RpcStatus, SynodKvClient } from '@synod/protocol';
export { CLIENT_PROTO_FILES, synodProtoDir } from './server/proto-files.js';
export { SynodClient } from './client/synod-client.js';
export type {
  CallOptions,
  CasExpectation,
  CasResult,
  DeleteResult,
  GetOptions,
  GetResult,
  MemberStatus,
  MemberStatusOptions,
  PutResult,
  SynodClientOptions,
  WatchEvent,
  WatchOptions,
} from './client/synod-client.js';
export { SynodRpcError } from './client/client-errors.js';
export { checkHealth } from './client/health.js';
export type { HealthAnswer } from './client/health.js';
