import {
  CorruptionError,
  type AcceptedSlot,
  type Ballot,
  type EntryType,
  type PaxosMessage,
  type SlotValue,
} from '@synod/core';
import * as wire from '../gen/synod/peer/v1/paxos.js';
import { EntryType as WireEntryType } from '../gen/synod/peer/v1/raft.js';
import { snapshotFromWire, snapshotToWire } from './raft-codec.js';
import { fromWire, toWire } from './uint64.js';

/**
 * Converts between the core's Multi-Paxos messages and `synod.peer.v1.PaxosMessage`.
 *
 * @example
 * ```ts
 * const bytes = encodePaxosMessage(message);
 * const same = decodePaxosMessage(bytes);
 * ```
 */
export function encodePaxosMessage(message: PaxosMessage): Uint8Array {
  return wire.PaxosMessage.encode(toWireMessage(message)).finish();
}

/** Decodes bytes into a core Multi-Paxos message. Throws `CorruptionError` for malformed input. */
export function decodePaxosMessage(bytes: Uint8Array): PaxosMessage {
  let decoded: wire.PaxosMessage;
  try {
    decoded = wire.PaxosMessage.decode(bytes);
  } catch (cause) {
    throw new CorruptionError('malformed paxos message', { cause });
  }
  return fromWireMessage(decoded);
}

function bytes(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function typeToWire(type: EntryType): WireEntryType {
  return type === 'conf-change' ? WireEntryType.ENTRY_TYPE_CONF_CHANGE : WireEntryType.ENTRY_TYPE_NORMAL;
}

function typeFromWire(type: WireEntryType): EntryType {
  if (type === WireEntryType.ENTRY_TYPE_NORMAL) return 'normal';
  if (type === WireEntryType.ENTRY_TYPE_CONF_CHANGE) return 'conf-change';
  throw new CorruptionError(`unknown entry type ${type}`);
}

function ballotToWire(ballot: Ballot): wire.Ballot {
  return { round: toWire(ballot.round), node: ballot.node };
}

function ballotFromWire(ballot: wire.Ballot | undefined): Ballot {
  if (ballot === undefined) throw new CorruptionError('paxos message without a ballot');
  return { round: fromWire(ballot.round, 'ballot.round'), node: ballot.node };
}

function valueToWire(value: SlotValue): wire.SlotValue {
  return { slot: toWire(value.slot), type: typeToWire(value.type), data: bytes(value.data) };
}

function valueFromWire(value: wire.SlotValue): SlotValue {
  return { slot: fromWire(value.slot, 'slot'), type: typeFromWire(value.type), data: new Uint8Array(value.data) };
}

function acceptedToWire(value: AcceptedSlot): wire.AcceptedSlot {
  return { ...valueToWire(value), ballot: ballotToWire(value.ballot) };
}

function acceptedFromWire(value: wire.AcceptedSlot): AcceptedSlot {
  return { ...valueFromWire(value), ballot: ballotFromWire(value.ballot) };
}

function toWireMessage(m: PaxosMessage): wire.PaxosMessage {
  const head = { from: m.from, to: m.to, ballot: ballotToWire(m.ballot) };
  switch (m.type) {
    case 'prepare':
      return { ...head, body: { $case: 'prepare', value: { fromSlot: toWire(m.fromSlot) } } };
    case 'promise':
      return {
        ...head,
        body: {
          $case: 'promise',
          value: {
            fromSlot: toWire(m.fromSlot),
            accepted: m.accepted.map(acceptedToWire),
            commit: toWire(m.commit),
            compactedTo: toWire(m.compactedTo),
          },
        },
      };
    case 'accept':
      return { ...head, body: { $case: 'accept', value: { entries: m.entries.map(valueToWire), commit: toWire(m.commit) } } };
    case 'accepted':
      return { ...head, body: { $case: 'accepted', value: { slots: m.slots.map(toWire), commit: toWire(m.commit) } } };
    case 'reject':
      return { ...head, body: { $case: 'reject', value: {} } };
    case 'catch-up':
      return { ...head, body: { $case: 'catchUp', value: { fromSlot: toWire(m.fromSlot) } } };
    case 'learn':
      return { ...head, body: { $case: 'learn', value: { entries: m.entries.map(acceptedToWire), commit: toWire(m.commit) } } };
    case 'snapshot':
      return { ...head, body: { $case: 'snapshot', value: { snapshot: snapshotToWire(m.snapshot) } } };
  }
}

function fromWireMessage(m: wire.PaxosMessage): PaxosMessage {
  const head = { from: m.from, to: m.to, ballot: ballotFromWire(m.ballot) };
  const body = m.body;
  if (body === undefined) throw new CorruptionError('paxos message without a body');
  switch (body.$case) {
    case 'prepare':
      return { ...head, type: 'prepare', fromSlot: fromWire(body.value.fromSlot, 'fromSlot') };
    case 'promise':
      return {
        ...head,
        type: 'promise',
        fromSlot: fromWire(body.value.fromSlot, 'fromSlot'),
        accepted: body.value.accepted.map(acceptedFromWire),
        commit: fromWire(body.value.commit, 'commit'),
        compactedTo: fromWire(body.value.compactedTo, 'compactedTo'),
      };
    case 'accept':
      return { ...head, type: 'accept', entries: body.value.entries.map(valueFromWire), commit: fromWire(body.value.commit, 'commit') };
    case 'accepted':
      return {
        ...head,
        type: 'accepted',
        slots: body.value.slots.map((s) => fromWire(s, 'slot')),
        commit: fromWire(body.value.commit, 'commit'),
      };
    case 'reject':
      return { ...head, type: 'reject' };
    case 'catchUp':
      return { ...head, type: 'catch-up', fromSlot: fromWire(body.value.fromSlot, 'fromSlot') };
    case 'learn':
      return { ...head, type: 'learn', entries: body.value.entries.map(acceptedFromWire), commit: fromWire(body.value.commit, 'commit') };
    case 'snapshot':
      return { ...head, type: 'snapshot', snapshot: snapshotFromWire(body.value.snapshot) };
  }
}
