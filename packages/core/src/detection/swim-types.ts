import type { NodeId } from '../transport/transport.js';

/**
 * Data types of the pure SWIM core: member states, the membership updates
 * that are gossiped, and the messages that travel inside `swim` envelopes.
 */

/**
 * The state of a member as one node sees it (SWIM §4.2 plus graceful leave).
 * `alive` and `suspect` members are in the group; `dead` ones failed; `left`
 * ones said goodbye, which lets others tell a planned exit from a failure.
 */
export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

/** What one node knows about a member. */
export interface MemberInfo {
  readonly id: NodeId;
  /**
   * Only the member itself increases its incarnation, to refute suspicion
   * (SWIM §4.2); it orders the claims made about the member.
   */
  readonly incarnation: number;
  readonly state: MemberState;
  /** When this node last saw the state change (its own clock). */
  readonly sinceMs: number;
  /** The member's own metadata (see {@link SwimCore.setMetadata}); empty when it set none. */
  readonly meta: Readonly<Record<string, string>>;
}

/** Largest metadata of one member, in UTF-8 bytes of its keys and values (memberlist's limit). */
export const MAX_METADATA_BYTES = 512;

/** The member is alive at this incarnation (joins, refutations and metadata changes). */
export interface AliveUpdate {
  readonly kind: 'alive';
  readonly node: NodeId;
  readonly incarnation: number;
  /** The member's metadata at this incarnation; absent means empty. */
  readonly meta?: Readonly<Record<string, string>>;
}

/** `from` suspects `node` at this incarnation. */
export interface SuspectUpdate {
  readonly kind: 'suspect';
  readonly node: NodeId;
  readonly incarnation: number;
  readonly from: NodeId;
}

/** `from` declared `node` dead at this incarnation (its suspicion timed out). */
export interface DeadUpdate {
  readonly kind: 'dead';
  readonly node: NodeId;
  readonly incarnation: number;
  readonly from: NodeId;
}

/** `node` left the group on purpose. */
export interface LeftUpdate {
  readonly kind: 'left';
  readonly node: NodeId;
  readonly incarnation: number;
}

/** A membership update, disseminated by piggybacking on protocol messages (SWIM §4.1). */
export type MembershipUpdate = AliveUpdate | SuspectUpdate | DeadUpdate | LeftUpdate;

/** One entry of a full-state exchange. */
export interface MemberDigest {
  readonly id: NodeId;
  readonly incarnation: number;
  readonly state: MemberState;
  /** The member's metadata; absent means empty. */
  readonly meta?: Readonly<Record<string, string>>;
}

/** Direct probe. `target` guards against a reply from a different node now reachable at the same address. */
export interface PingMessage {
  readonly type: 'ping';
  readonly seq: number;
  readonly target: NodeId;
  readonly updates: readonly MembershipUpdate[];
}

/**
 * Indirect probe request (SWIM §3.1): "ping `target` for me". With Lifeguard
 * the requester also asks for a nack when the relay hears nothing within
 * `timeoutMs`.
 */
export interface PingReqMessage {
  readonly type: 'ping-req';
  readonly seq: number;
  readonly target: NodeId;
  readonly wantNack: boolean;
  /** How long the requester will wait; the relay sends its nack before that. */
  readonly timeoutMs: number;
  readonly updates: readonly MembershipUpdate[];
}

/** Reply to a ping, or relayed reply to a ping-req (carrying the requester's seq). */
export interface AckMessage {
  readonly type: 'ack';
  readonly seq: number;
  readonly updates: readonly MembershipUpdate[];
}

/** Lifeguard: a relay got no ack from the target, but is itself alive and reachable. */
export interface NackMessage {
  readonly type: 'nack';
  readonly seq: number;
}

/** Updates only, sent to random members every gossip interval. */
export interface GossipMessage {
  readonly type: 'gossip';
  readonly updates: readonly MembershipUpdate[];
}

/** Full-state anti-entropy exchange; `reply` is false on the request and true on the answer. */
export interface PushPullMessage {
  readonly type: 'push-pull';
  readonly reply: boolean;
  /** True when the sender is joining through the receiver. */
  readonly join: boolean;
  readonly members: readonly MemberDigest[];
}

/** The payload of every envelope with protocol `'swim'`. */
export type SwimMessage = PingMessage | PingReqMessage | AckMessage | NackMessage | GossipMessage | PushPullMessage;

/** A message the core wants sent. */
export interface OutgoingSwimMessage {
  readonly to: NodeId;
  readonly message: SwimMessage;
}

/** A member changed state; `type` is the new state. */
export interface MemberEvent {
  readonly type: MemberState;
  readonly member: MemberInfo;
  /** The previous state, or undefined when the member was unknown until now. */
  readonly previous: MemberState | undefined;
  readonly atMs: number;
}

/** The first answer of a seed after {@link SwimCore.join}. */
export interface JoinedEvent {
  readonly type: 'joined';
  readonly via: NodeId;
  readonly atMs: number;
}

/** This node refuted a suspicion (or death notice) about itself. */
export interface RefutedEvent {
  readonly type: 'refuted';
  readonly incarnation: number;
  readonly atMs: number;
}

/** An alive member's metadata changed (it stays alive). */
export interface UpdatedEvent {
  readonly type: 'updated';
  readonly member: MemberInfo;
  readonly atMs: number;
}

/** Something worth telling the application. */
export type SwimEvent = MemberEvent | JoinedEvent | RefutedEvent | UpdatedEvent;

/** What {@link SwimCore.takeOutput} hands to the driver. */
export interface SwimOutput {
  readonly messages: readonly OutgoingSwimMessage[];
  readonly events: readonly SwimEvent[];
}

const MEMBER_STATES: ReadonlySet<string> = new Set(['alive', 'suspect', 'dead', 'left']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** A string-to-string map, or absent. */
function isMeta(value: unknown): boolean {
  if (value === undefined) return true;
  if (!isRecord(value) || Array.isArray(value)) return false;
  return Object.values(value).every((v) => typeof v === 'string');
}

const utf8 = new TextEncoder();

/**
 * UTF-8 bytes of a metadata map's keys and values.
 *
 * @example
 * ```ts
 * metadataBytes({ zone: 'eu-1' }); // 8
 * ```
 */
export function metadataBytes(meta: Readonly<Record<string, string>>): number {
  let bytes = 0;
  for (const [key, value] of Object.entries(meta)) bytes += utf8.encode(key).length + utf8.encode(value).length;
  return bytes;
}

function isUpdate(value: unknown): value is MembershipUpdate {
  if (!isRecord(value) || typeof value['node'] !== 'string' || !isCount(value['incarnation'])) return false;
  switch (value['kind']) {
    case 'alive':
      return isMeta(value['meta']);
    case 'left':
      return true;
    case 'suspect':
    case 'dead':
      return typeof value['from'] === 'string';
    default:
      return false;
  }
}

function isUpdates(value: unknown): value is readonly MembershipUpdate[] {
  return Array.isArray(value) && value.every(isUpdate);
}

function isDigest(value: unknown): value is MemberDigest {
  return (
    isRecord(value) &&
    typeof value['id'] === 'string' &&
    isCount(value['incarnation']) &&
    typeof value['state'] === 'string' &&
    MEMBER_STATES.has(value['state']) &&
    isMeta(value['meta'])
  );
}

/**
 * Checks the shape of a payload received from the network. Drivers call it
 * before handing a payload to the core: a peer may run another version or be
 * plain broken, and a malformed message must be dropped, not crash the node.
 *
 * @example
 * ```ts
 * if (envelope.protocol === 'swim' && isSwimMessage(envelope.payload)) core.receive(envelope.from, envelope.payload, now);
 * ```
 */
export function isSwimMessage(value: unknown): value is SwimMessage {
  if (!isRecord(value)) return false;
  switch (value['type']) {
    case 'ping':
      return isCount(value['seq']) && typeof value['target'] === 'string' && isUpdates(value['updates']);
    case 'ping-req':
      return (
        isCount(value['seq']) &&
        typeof value['target'] === 'string' &&
        typeof value['wantNack'] === 'boolean' &&
        typeof value['timeoutMs'] === 'number' &&
        Number.isFinite(value['timeoutMs']) &&
        isUpdates(value['updates'])
      );
    case 'ack':
      return isCount(value['seq']) && isUpdates(value['updates']);
    case 'nack':
      return isCount(value['seq']);
    case 'gossip':
      return isUpdates(value['updates']);
    case 'push-pull':
      return (
        typeof value['reply'] === 'boolean' &&
        typeof value['join'] === 'boolean' &&
        Array.isArray(value['members']) &&
        value['members'].every(isDigest)
      );
    default:
      return false;
  }
}
