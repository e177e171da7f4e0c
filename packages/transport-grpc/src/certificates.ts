/**
 * Makes the certificates a Synod cluster's mutual TLS needs: a CA, one
 * certificate per node (URI SAN `spiffe://synod/<cluster>/<node>`, usable as
 * server and as client) and client certificates (URI SAN
 * `spiffe://synod/<cluster>/client/<name>`). Tests and `synod cluster up`
 * use it; a production cluster may use it or any CA that issues the same
 * SANs (the package README shows the `openssl` commands).
 *
 * It runs in-process on WebCrypto (ECDSA P-256 keys, SHA-256 signatures)
 * through `@peculiar/x509`, so no `openssl` program is needed at run time and
 * it works the same wherever Node does. Import it from
 * `@synod/transport-grpc/certificates`: the transport itself does not load it.
 *
 * @example
 * ```ts
 * import { createCertificateAuthority, createNodeCertificate } from '@synod/transport-grpc/certificates';
 * const ca = await createCertificateAuthority();
 * const n1 = await createNodeCertificate(ca, { clusterId: 'c1', nodeId: 'n1' });
 * const security = { tls: { cert: n1.certPem, key: n1.keyPem, ca: ca.certPem } };
 * ```
 *
 * @packageDocumentation
 */
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the
// Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { isIP } from 'node:net';
import { webcrypto } from 'node:crypto';
import { clientSpiffeId, nodeSpiffeId } from './identity.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** WebCrypto's key types as @peculiar/x509 declares them (from the DOM library, which this package does not load). */
type CryptoKeyPair = x509.X509CertificateCreateSelfSignedParams['keys'];
type CryptoKey = CryptoKeyPair['privateKey'];

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;
/** notBefore is set this far in the past, so clocks a little behind accept a fresh certificate. */
const BACKDATE_MS = 5 * 60 * 1000;

/** A certificate and its private key, both PEM. */
export interface CertificateAndKey {
  readonly certPem: string;
  readonly keyPem: string;
}

/** A CA: its certificate (what every node trusts) and the key that signs. Keep `keyPem` secret. */
export type CertificateAuthority = CertificateAndKey;

export interface CertificateAuthorityOptions {
  /** @default 'Synod CA' */
  readonly commonName?: string;
  /** @default 3650 */
  readonly validityDays?: number;
}

export interface NodeCertificateOptions {
  readonly clusterId: string;
  readonly nodeId: string;
  /**
   * Host names and IP addresses clients may dial the node by, added as DNS
   * and IP SANs for ordinary TLS host checks (peers check the URI SAN).
   * @default ['localhost', '127.0.0.1', '::1']
   */
  readonly hosts?: readonly string[];
  /** @default 365 */
  readonly validityDays?: number;
}

export interface ClientCertificateOptions {
  readonly clusterId: string;
  /** The client's name, in its URI SAN. */
  readonly name: string;
  /** @default 365 */
  readonly validityDays?: number;
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f; // a positive INTEGER
  return Buffer.from(bytes).toString('hex');
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return { notBefore: new Date(now - BACKDATE_MS), notAfter: new Date(now + days * DAY_MS) };
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey), 'PRIVATE KEY');
}

async function caSigningKey(ca: CertificateAuthority): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(ca.keyPem);
  return (await webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, false, ['sign'])) as CryptoKey;
}

/** A `/`-free, comma-free common name from an id (the SAN carries the identity; the CN is for people). */
function commonName(value: string): string {
  return `CN=${value.replace(/[^A-Za-z0-9._ -]/g, '_')}`;
}

/** Makes a self-signed CA. */
export async function createCertificateAuthority(options: CertificateAuthorityOptions = {}): Promise<CertificateAuthority> {
  const keys = await newKeys();
  const name = commonName(options.commonName ?? 'Synod CA');
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name,
    ...validity(options.validityDays ?? 3650),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: certificate.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

async function issue(
  ca: CertificateAuthority,
  subject: string,
  san: x509.JsonGeneralNames,
  usages: readonly string[],
  days: number,
): Promise<CertificateAndKey> {
  const issuer = new x509.X509Certificate(ca.certPem);
  const keys = await newKeys();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject,
    issuer: issuer.subject,
    ...validity(days),
    signingKey: await caSigningKey(ca),
    publicKey: keys.publicKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([...usages]),
      new x509.SubjectAlternativeNameExtension(san),
      await x509.AuthorityKeyIdentifierExtension.create(issuer),
    ],
  });
  return { certPem: certificate.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

/**
 * Issues node `nodeId`'s certificate: URI SAN `spiffe://synod/<cluster>/<node>`
 * plus DNS/IP SANs for `hosts`, valid for server and client authentication
 * (a node both accepts and dials).
 *
 * @throws InvalidArgumentError when an id has characters a SPIFFE path cannot hold
 */
export async function createNodeCertificate(ca: CertificateAuthority, options: NodeCertificateOptions): Promise<CertificateAndKey> {
  const san: x509.JsonGeneralNames = [{ type: 'url', value: nodeSpiffeId(options.clusterId, options.nodeId) }];
  for (const host of options.hosts ?? ['localhost', '127.0.0.1', '::1']) {
    san.push({ type: isIP(host) === 0 ? 'dns' : 'ip', value: host });
  }
  return issue(ca, commonName(options.nodeId), san, [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], options.validityDays ?? 365);
}

/**
 * Issues a client certificate: URI SAN `spiffe://synod/<cluster>/client/<name>`,
 * valid for client authentication only, so it can neither serve nor pass for
 * a node.
 *
 * @throws InvalidArgumentError when the name has characters a SPIFFE path cannot hold
 */
export async function createClientCertificate(ca: CertificateAuthority, options: ClientCertificateOptions): Promise<CertificateAndKey> {
  const san: x509.JsonGeneralNames = [{ type: 'url', value: clientSpiffeId(options.clusterId, options.name) }];
  return issue(ca, commonName(options.name), san, [x509.ExtendedKeyUsage.clientAuth], options.validityDays ?? 365);
}
