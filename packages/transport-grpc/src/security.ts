import * as grpc from '@grpc/grpc-js';
import { experimental } from '@grpc/grpc-js';
import { InvalidArgumentError, type NodeId } from '@synod/core';
import { nodeIdentityMismatch } from './identity.js';

/** PEM text, as a string or as the bytes of a file. */
export type Pem = string | Uint8Array;

/** TLS material of a node: its certificate chain and key, and the CA that signs its peers. */
export interface TlsOptions {
  /** This node's certificate (PEM, leaf first), with URI SAN `spiffe://synod/<cluster>/<node>`. */
  readonly cert: Pem;
  /** The private key of `cert` (PEM). */
  readonly key: Pem;
  /** The CA certificate(s) (PEM) that peers' and clients' certificates must chain to. */
  readonly ca: Pem;
  /**
   * Whether every connection must present a client certificate signed by
   * `ca` (refused in the TLS handshake otherwise). With `false`, clients of
   * other services on the same server may connect without one; the peer
   * service still refuses every stream without a verified node certificate.
   * @default true
   */
  readonly requireClientCert?: boolean;
}

/**
 * How connections are secured: mutual TLS with `tls`, or plaintext only
 * when `insecure: true` is spelled out (there is no default).
 */
export type GrpcSecurity = { readonly insecure: true } | { readonly tls: TlsOptions };

/** What a client of the Synod services needs: the CA, and a certificate when the server requires one. */
export type ClientSecurity =
  | { readonly insecure: true }
  | { readonly tls: { readonly ca: Pem; readonly cert?: Pem; readonly key?: Pem } };

function toBuffer(pem: Pem): Buffer {
  return typeof pem === 'string' ? Buffer.from(pem, 'utf8') : Buffer.from(pem.buffer, pem.byteOffset, pem.byteLength);
}

/**
 * Checks the shape of a security option and returns it, so that a missing
 * or ambiguous choice fails at construction with a clear message.
 *
 * @throws InvalidArgumentError
 */
export function validateSecurity(security: unknown): GrpcSecurity {
  if (typeof security !== 'object' || security === null) {
    throw new InvalidArgumentError("security is required: { tls: { cert, key, ca } }, or { insecure: true } for plaintext");
  }
  const record = security as Record<string, unknown>;
  const hasTls = record['tls'] !== undefined;
  const insecure = record['insecure'] === true;
  if (hasTls === insecure) {
    throw new InvalidArgumentError("security must be exactly one of { tls: { cert, key, ca } } and { insecure: true }");
  }
  if (hasTls) {
    const tls = record['tls'] as Record<string, unknown>;
    for (const field of ['cert', 'key', 'ca']) {
      const value = tls[field];
      if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
        throw new InvalidArgumentError(`security.tls.${field} must be PEM text (a string or a Buffer)`);
      }
    }
  }
  return security as GrpcSecurity;
}

/**
 * Serves a fixed CA and identity to grpc-js's certificate-provider
 * credentials. Listeners hear the certificates on the next tick, as from a
 * file watcher: grpc-js subscribes to the providers before it registers the
 * server that waits for them, so an answer inside the subscription is lost.
 */
function staticProvider(ca: Buffer, certificate: Buffer, privateKey: Buffer): experimental.CertificateProvider {
  return {
    addCaCertificateListener: (listener) => process.nextTick(() => listener({ caCertificate: ca })),
    removeCaCertificateListener: () => undefined,
    addIdentityCertificateListener: (listener) => process.nextTick(() => listener({ certificate, privateKey })),
    removeIdentityCertificateListener: () => undefined,
  };
}

/**
 * The server credentials for `security`: TLS with this node's certificate,
 * asking every client for a certificate signed by `tls.ca` (and refusing
 * those without one unless `requireClientCert: false`), or plaintext.
 * Use it for every server that hosts the peer service, so the Synod
 * services share one TLS set-up.
 *
 * @example
 * ```ts
 * const server = new grpc.Server(grpcServerOptions());
 * server.bindAsync('0.0.0.0:7001', createServerCredentials(security), (err) => { … });
 * ```
 */
export function createServerCredentials(security: GrpcSecurity): grpc.ServerCredentials {
  validateSecurity(security);
  if ('insecure' in security) return grpc.ServerCredentials.createInsecure();
  const { tls } = security;
  const ca = toBuffer(tls.ca);
  const cert = toBuffer(tls.cert);
  const key = toBuffer(tls.key);
  if (tls.requireClientCert ?? true) {
    return grpc.ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], true);
  }
  // Ask for a certificate without requiring one: grpc-js then reports a
  // verified certificate (and only a verified one) in the call's auth context.
  const provider = staticProvider(ca, cert, key);
  return experimental.createCertificateProviderServerCredentials(provider, provider, false);
}

/** Options of {@link createChannelCredentials}. */
export interface ChannelCredentialsOptions {
  /**
   * Accept the server only when its certificate names this Synod node
   * (URI SAN `spiffe://synod/<clusterId>/<nodeId>`), instead of checking the
   * host name it was dialled by. The peer transport always sets it.
   */
  readonly expectNode?: { readonly clusterId: string; readonly nodeId: NodeId };
}

/**
 * The channel credentials for `security`: TLS that trusts `tls.ca` and
 * presents `tls.cert` when given, or plaintext. Without `expectNode` the
 * server's certificate must name the host dialled (as usual for TLS; the
 * certificates of `createNodeCertificate` carry `localhost`, `127.0.0.1` and
 * `::1` plus the hosts given).
 *
 * @example
 * ```ts
 * const kv = new kvV1.KVClient('127.0.0.1:7001', createChannelCredentials({ tls: { ca, cert, key } }));
 * ```
 */
export function createChannelCredentials(security: GrpcSecurity | ClientSecurity, options: ChannelCredentialsOptions = {}): grpc.ChannelCredentials {
  if ('insecure' in security && security.insecure === true) return grpc.credentials.createInsecure();
  if (!('tls' in security)) throw new InvalidArgumentError('security must be { tls: … } or { insecure: true }');
  const { tls } = security;
  const cert = tls.cert === undefined ? null : toBuffer(tls.cert);
  const key = tls.key === undefined ? null : toBuffer(tls.key);
  if ((cert === null) !== (key === null)) throw new InvalidArgumentError('security.tls needs both cert and key, or neither');
  const expected = options.expectNode;
  const verify: grpc.VerifyOptions =
    expected === undefined
      ? {}
      : {
          checkServerIdentity: (_host, certificate) => {
            const why = nodeIdentityMismatch(certificate, expected.clusterId, expected.nodeId);
            return why === undefined ? undefined : new Error(`server is not node '${expected.nodeId}': ${why}`);
          },
        };
  return grpc.credentials.createSsl(toBuffer(tls.ca), key, cert, verify);
}
