import {
  CorruptionError,
  InvalidArgumentError,
  isSwimMessage,
  type MemberDigest,
  type MembershipUpdate,
  type MemberState,
  type SwimMessage,
} from '@synod/core';
import * as wire from '../gen/synod/peer/v1/swim.js';
import { fromWire, toWire } from './uint64.js';

/**
 * The SWIM wire version this codec writes. Decoding accepts every version:
 * fields and message kinds are only added, so a message from a newer member
 * decodes to what this version knows (new fields ignored), and a message kind
 * this version has never heard of is refused with
 * {@link UnsupportedSwimMessageError}, which drivers treat as a lost message.
 */
export const SWIM_WIRE_VERSION = 1;

/**
 * A well-formed SWIM message of a kind this version does not know, sent by a
 * member that speaks a newer wire version. It is a {@link CorruptionError} so
 * that transports drop it like any undecodable payload; SWIM copes with loss.
 */
export class UnsupportedSwimMessageError extends CorruptionError {
  constructor(readonly version: number) {
    super(`swim message of an unknown kind (sender speaks wire version ${version}, this node ${SWIM_WIRE_VERSION})`);
  }
}

/**
 * Encodes a core SWIM message as `synod.peer.v1.SwimMessage`.
 *
 * @example
 * ```ts
 * const bytes = encodeSwimMessage({ type: 'ping', seq: 7, target: 'n2', updates: [] });
 * decodeSwimMessage(bytes); // the same message
 * ```
 *
 * @throws InvalidArgumentError when `message` is not a well-formed SWIM message.
 */
export function encodeSwimMessage(message: SwimMessage): Uint8Array {
  // The envelope payload is `unknown` on the way in: refuse a wrong shape
  // here rather than send a message every receiver would drop.
  if (!isSwimMessage(message)) throw new InvalidArgumentError('not a SWIM message');
  return wire.SwimMessage.encode({ version: SWIM_WIRE_VERSION, body: bodyToWire(message) }).finish();
}

/**
 * Decodes bytes into a core SWIM message.
 *
 * @throws CorruptionError for malformed input (bad bytes, a missing field, a
 *   number beyond 2^53 − 1, an unknown member state).
 * @throws UnsupportedSwimMessageError for a message kind from a newer wire version.
 */
export function decodeSwimMessage(bytes: Uint8Array): SwimMessage {
  let decoded: wire.SwimMessage;
  try {
    decoded = wire.SwimMessage.decode(bytes);
  } catch (cause) {
    throw new CorruptionError('malformed swim message', { cause });
  }
  const body = decoded.body;
  if (body === undefined) {
    if (decoded.version > SWIM_WIRE_VERSION) throw new UnsupportedSwimMessageError(decoded.version);
    throw new CorruptionError('swim message without a body');
  }
  switch (body.$case) {
    case 'ping':
      return {
        type: 'ping',
        seq: fromWire(body.value.seq, 'ping.seq'),
        target: body.value.target,
        updates: body.value.updates.map(updateFromWire),
      };
    case 'pingReq':
      return {
        type: 'ping-req',
        seq: fromWire(body.value.seq, 'ping-req.seq'),
        target: body.value.target,
        wantNack: body.value.wantNack,
        timeoutMs: body.value.timeoutMs,
        updates: body.value.updates.map(updateFromWire),
      };
    case 'ack':
      return { type: 'ack', seq: fromWire(body.value.seq, 'ack.seq'), updates: body.value.updates.map(updateFromWire) };
    case 'nack':
      return { type: 'nack', seq: fromWire(body.value.seq, 'nack.seq') };
    case 'gossip':
      return { type: 'gossip', updates: body.value.updates.map(updateFromWire) };
    case 'pushPull':
      return {
        type: 'push-pull',
        reply: body.value.reply,
        join: body.value.join,
        members: body.value.members.map(digestFromWire),
      };
  }
}

function bodyToWire(message: SwimMessage): wire.SwimMessage['body'] {
  switch (message.type) {
    case 'ping':
      return {
        $case: 'ping',
        value: { seq: toWire(message.seq), target: message.target, updates: message.updates.map(updateToWire) },
      };
    case 'ping-req':
      return {
        $case: 'pingReq',
        value: {
          seq: toWire(message.seq),
          target: message.target,
          wantNack: message.wantNack,
          // uint32 milliseconds: about 49 days, far beyond any probe timeout.
          timeoutMs: Math.min(0xffff_ffff, Math.max(0, Math.round(message.timeoutMs))),
          updates: message.updates.map(updateToWire),
        },
      };
    case 'ack':
      return { $case: 'ack', value: { seq: toWire(message.seq), updates: message.updates.map(updateToWire) } };
    case 'nack':
      return { $case: 'nack', value: { seq: toWire(message.seq) } };
    case 'gossip':
      return { $case: 'gossip', value: { updates: message.updates.map(updateToWire) } };
    case 'push-pull':
      return {
        $case: 'pushPull',
        value: { reply: message.reply, join: message.join, members: message.members.map(digestToWire) },
      };
  }
}

const stateToWire: Record<MemberState, wire.MemberState> = {
  alive: wire.MemberState.MEMBER_STATE_ALIVE,
  suspect: wire.MemberState.MEMBER_STATE_SUSPECT,
  dead: wire.MemberState.MEMBER_STATE_DEAD,
  left: wire.MemberState.MEMBER_STATE_LEFT,
};

function stateFromWire(state: wire.MemberState): MemberState {
  switch (state) {
    case wire.MemberState.MEMBER_STATE_ALIVE:
      return 'alive';
    case wire.MemberState.MEMBER_STATE_SUSPECT:
      return 'suspect';
    case wire.MemberState.MEMBER_STATE_DEAD:
      return 'dead';
    case wire.MemberState.MEMBER_STATE_LEFT:
      return 'left';
    default:
      throw new CorruptionError(`unknown member state ${state}`);
  }
}

/** Metadata as it travels (a plain map); an empty map is what "no metadata" decodes to. */
function metaToWire(meta: Readonly<Record<string, string>> | undefined): { [key: string]: string } {
  return meta === undefined ? {} : { ...meta };
}

function metaFromWire(meta: { [key: string]: string }): { meta?: Readonly<Record<string, string>> } {
  return Object.keys(meta).length === 0 ? {} : { meta: { ...meta } };
}

function updateToWire(update: MembershipUpdate): wire.MembershipUpdate {
  return {
    node: update.node,
    incarnation: toWire(update.incarnation),
    state: stateToWire[update.kind],
    from: update.kind === 'suspect' || update.kind === 'dead' ? update.from : '',
    meta: update.kind === 'alive' ? metaToWire(update.meta) : {},
  };
}

function updateFromWire(update: wire.MembershipUpdate): MembershipUpdate {
  const incarnation = fromWire(update.incarnation, 'update.incarnation');
  const kind = stateFromWire(update.state);
  switch (kind) {
    case 'alive':
      return { kind, node: update.node, incarnation, ...metaFromWire(update.meta) };
    case 'left':
      return { kind, node: update.node, incarnation };
    case 'suspect':
    case 'dead':
      return { kind, node: update.node, incarnation, from: update.from };
  }
}

function digestToWire(digest: MemberDigest): wire.MemberDigest {
  return { id: digest.id, incarnation: toWire(digest.incarnation), state: stateToWire[digest.state], meta: metaToWire(digest.meta) };
}

function digestFromWire(digest: wire.MemberDigest): MemberDigest {
  return {
    id: digest.id,
    incarnation: fromWire(digest.incarnation, 'member.incarnation'),
    state: stateFromWire(digest.state),
    ...metaFromWire(digest.meta),
  };
}
