import { InvalidArgumentError, type NodeId } from '@synod/core';

/**
 * The subjects of the NATS transport. Every node `N` of cluster `C` owns the
 * subject tree `synod.C.N.>`:
 *
 * - `synod.C.N.S` carries batches from node `S` to `N`. The sender is the
 *   last token, so the NATS server's publish permissions (a node may publish
 *   only on `synod.C.*.<itself>`) vouch for who sent a message: NATS itself
 *   tells a subscriber nothing about the publisher.
 * - `synod.C.N.P.ack.K` is where `N` hears back about probe `K` of its
 *   messages to `P`: `P`'s acknowledgement, or the server's 503 "no
 *   responders" when nobody subscribes to `P`'s subject.
 */
export const SUBJECT_ROOT = 'synod';

/** Letters, digits, `_` and `-`: a token NATS treats literally (no `.`, wildcards or spaces). */
const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

/** True when `value` can be one token of a subject. */
export function isSubjectToken(value: string): boolean {
  return TOKEN.test(value);
}

/** @throws InvalidArgumentError when `value` cannot be a subject token */
export function assertSubjectToken(what: string, value: string): void {
  if (typeof value !== 'string' || !isSubjectToken(value)) {
    throw new InvalidArgumentError(
      `${what} ${JSON.stringify(value)} cannot be a NATS subject token: use 1 to 128 letters, digits, '_' or '-'`,
    );
  }
}

/** The subject a batch from `from` to `to` is published on. */
export function peerSubject(clusterId: string, to: NodeId, from: NodeId): string {
  return `${SUBJECT_ROOT}.${clusterId}.${to}.${from}`;
}

/** Everything node `nodeId` subscribes to. */
export function ownSubjects(clusterId: string, nodeId: NodeId): string {
  return `${SUBJECT_ROOT}.${clusterId}.${nodeId}.>`;
}

/** Where `nodeId` hears back about probe `probe` of its messages to `peer`. */
export function ackSubject(clusterId: string, nodeId: NodeId, peer: NodeId, probe: number): string {
  return `${SUBJECT_ROOT}.${clusterId}.${nodeId}.${peer}.ack.${probe}`;
}

/** What a subject in a node's own tree means. */
export type OwnSubject =
  | { readonly kind: 'batch'; readonly from: NodeId }
  | { readonly kind: 'ack'; readonly peer: NodeId; readonly probe: number }
  | { readonly kind: 'other' };

/**
 * Reads a subject under `synod.<clusterId>.<nodeId>.`; anything not of one
 * of the two shapes is `other` (and ignored).
 */
export function parseOwnSubject(subject: string, prefix: string): OwnSubject {
  if (!subject.startsWith(prefix)) return { kind: 'other' };
  const rest = subject.slice(prefix.length).split('.');
  if (rest.length === 1 && isSubjectToken(rest[0]!)) return { kind: 'batch', from: rest[0]! };
  if (rest.length === 3 && rest[1] === 'ack' && isSubjectToken(rest[0]!) && /^[0-9]{1,15}$/.test(rest[2]!)) {
    return { kind: 'ack', peer: rest[0]!, probe: Number(rest[2]) };
  }
  return { kind: 'other' };
}

/** The prefix of every subject in a node's own tree, dot included. */
export function ownPrefix(clusterId: string, nodeId: NodeId): string {
  return `${SUBJECT_ROOT}.${clusterId}.${nodeId}.`;
}

/**
 * True when `reply` is the ack subject `from` would use for a message to
 * `localId`: a node answers only those, so a forged reply subject cannot make
 * it publish anywhere else.
 */
export function isAckSubjectFor(reply: string, clusterId: string, from: NodeId, localId: NodeId): boolean {
  const prefix = `${SUBJECT_ROOT}.${clusterId}.${from}.${localId}.ack.`;
  return reply.startsWith(prefix) && /^[0-9]{1,15}$/.test(reply.slice(prefix.length));
}

/**
 * The client API's subject root. KV and Cluster requests of cluster `C` go
 * to `synod-api.C.<Service>.<Method>`, served by whichever node of the
 * queue group `synod-api.C` the server picks, or to
 * `synod-api.C.<node>.<Service>.<Method>` for one member (the leader, or
 * the member a Status is asked of). A separate root keeps client traffic out
 * of the nodes' peer subjects, whatever the node ids.
 */
export const API_ROOT = 'synod-api';

/** The methods served over NATS, as `<Service>.<Method>` (the last two tokens of a request subject). */
export const API_METHODS = [
  'KV.Put',
  'KV.Get',
  'KV.Delete',
  'KV.CompareAndSwap',
  'KV.Watch',
  'Cluster.Status',
  'Cluster.AddMember',
  'Cluster.RemoveMember',
  'Cluster.PromoteLearner',
  'Cluster.TransferLeadership',
  'Cluster.SetLinkFaults',
] as const;
export type ApiMethod = (typeof API_METHODS)[number];

/** The subject of `method`: for any node of the cluster, or for member `nodeId`. */
export function apiSubject(clusterId: string, method: ApiMethod, nodeId?: NodeId): string {
  return nodeId === undefined ? `${API_ROOT}.${clusterId}.${method}` : `${API_ROOT}.${clusterId}.${nodeId}.${method}`;
}

/** The queue group every node of a cluster serves the any-node API subjects in. */
export function apiQueueGroup(clusterId: string): string {
  return `${API_ROOT}.${clusterId}`;
}

/**
 * The root of watch streams: the events of one watch go to
 * `synod-watch.C.<watch id>`, a subject the client picks and subscribes to
 * before it asks `KV.Watch`. Nodes publish there (permission
 * `synod-watch.C.>`), clients subscribe. A separate root keeps a client's
 * request from making a node publish anywhere else.
 */
export const WATCH_ROOT = 'synod-watch';

/** The subject the events of watch `watchId` of cluster `clusterId` go to. */
export function watchSubject(clusterId: string, watchId: string): string {
  return `${WATCH_ROOT}.${clusterId}.${watchId}`;
}

/** True when `subject` is a watch subject of `clusterId` (exactly one token after the cluster). */
export function isWatchSubjectFor(subject: string, clusterId: string): boolean {
  const prefix = `${WATCH_ROOT}.${clusterId}.`;
  return subject.startsWith(prefix) && isSubjectToken(subject.slice(prefix.length));
}

/**
 * Where a client acknowledges and cancels the watches member `nodeId`
 * serves (the `<Service>.<Method>` slot reads `Watch.Control`).
 */
export function watchControlSubject(clusterId: string, nodeId: NodeId): string {
  return `${API_ROOT}.${clusterId}.${nodeId}.Watch.Control`;
}
