import { X509Certificate } from 'node:crypto';
import { InvalidArgumentError, type NodeId } from '@synod/core';

/**
 * How a certificate names a Synod node or client: a URI subject alternative
 * name in the SPIFFE form, under the trust domain `synod`.
 *
 * | holder | URI SAN |
 * |---|---|
 * | node `<node>` of cluster `<cluster>` | `spiffe://synod/<cluster>/<node>` |
 * | client `<name>` of cluster `<cluster>` | `spiffe://synod/<cluster>/client/<name>` |
 *
 * A URI SAN rather than a DNS name because a node's id is not a host name (a
 * node keeps its id when it moves host, and two nodes may share a host), and
 * because the cluster id in the path keeps one CA's certificates of two
 * clusters apart. The two forms differ in their number of path segments, so
 * a client certificate can never pass for a node's.
 */
export const SPIFFE_TRUST_DOMAIN = 'synod';

/** Characters allowed in a cluster id, node id or client name that goes into a certificate. */
const SAFE_SEGMENT = /^[A-Za-z0-9._-]+$/;

/**
 * Throws unless `value` can be a SPIFFE path segment: letters, digits, `.`,
 * `_` and `-` (and not `.` or `..`). Node ids and cluster ids must pass when
 * TLS is on.
 *
 * @throws InvalidArgumentError
 */
export function assertIdentitySegment(what: string, value: string): void {
  if (!SAFE_SEGMENT.test(value) || value === '.' || value === '..') {
    throw new InvalidArgumentError(`${what} '${value}' cannot go into a certificate: use letters, digits, '.', '_' and '-'`);
  }
}

/** The URI SAN of node `nodeId` of cluster `clusterId`. */
export function nodeSpiffeId(clusterId: string, nodeId: NodeId): string {
  assertIdentitySegment('cluster id', clusterId);
  assertIdentitySegment('node id', nodeId);
  return `spiffe://${SPIFFE_TRUST_DOMAIN}/${clusterId}/${nodeId}`;
}

/** The URI SAN of client `name` of cluster `clusterId`. */
export function clientSpiffeId(clusterId: string, name: string): string {
  assertIdentitySegment('cluster id', clusterId);
  assertIdentitySegment('client name', name);
  return `spiffe://${SPIFFE_TRUST_DOMAIN}/${clusterId}/client/${name}`;
}

/** Who a certificate says its holder is. */
export type CertificateIdentity =
  | { readonly kind: 'node'; readonly clusterId: string; readonly nodeId: NodeId }
  | { readonly kind: 'client'; readonly clusterId: string; readonly name: string };

/**
 * The URI SANs of a certificate, from Node's `subjectaltname` text
 * (`URI:spiffe://…, DNS:localhost, IP Address:127.0.0.1`). Entries that Node
 * quotes (because they hold a comma or quote) cannot be a Synod identity, so
 * they are returned as they are and fail the match later.
 */
function uriSans(subjectAltName: string | undefined): string[] {
  if (subjectAltName === undefined || subjectAltName === '') return [];
  return subjectAltName
    .split(', ')
    .filter((entry) => entry.startsWith('URI:'))
    .map((entry) => entry.slice('URI:'.length));
}

/**
 * Reads the Synod identity from a certificate's SANs. A certificate with
 * none, or with more than one (which would let it speak for several
 * holders), has no identity.
 */
export function identityOfCertificate(certificate: { readonly subjectaltname?: string } | X509Certificate): CertificateIdentity | undefined {
  const san = certificate instanceof X509Certificate ? certificate.subjectAltName : certificate.subjectaltname;
  const prefix = `spiffe://${SPIFFE_TRUST_DOMAIN}/`;
  const synod = uriSans(san).filter((uri) => uri.startsWith(prefix));
  if (synod.length !== 1) return undefined;
  const segments = synod[0]!.slice(prefix.length).split('/');
  if (!segments.every((segment) => SAFE_SEGMENT.test(segment))) return undefined;
  if (segments.length === 2) return { kind: 'node', clusterId: segments[0]!, nodeId: segments[1]! };
  if (segments.length === 3 && segments[1] === 'client') return { kind: 'client', clusterId: segments[0]!, name: segments[2]! };
  return undefined;
}

/**
 * Why a certificate does not prove that its holder is node `nodeId` of
 * `clusterId`, or undefined when it does.
 */
export function nodeIdentityMismatch(certificate: { readonly subjectaltname?: string }, clusterId: string, nodeId: NodeId): string | undefined {
  const identity = identityOfCertificate(certificate);
  if (identity === undefined) return `the certificate names no Synod identity (expected URI SAN spiffe://${SPIFFE_TRUST_DOMAIN}/${clusterId}/${nodeId})`;
  if (identity.kind !== 'node') return `the certificate is a client's (${identity.name}), not a node's`;
  if (identity.clusterId !== clusterId) return `the certificate is for cluster '${identity.clusterId}', not '${clusterId}'`;
  if (identity.nodeId !== nodeId) return `the certificate is for node '${identity.nodeId}', not '${nodeId}'`;
  return undefined;
}
