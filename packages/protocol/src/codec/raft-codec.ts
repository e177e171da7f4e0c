import {
  CorruptionError,
  type ConfState,
  type Entry,
  type EntryType,
  type RaftMessage,
  type ReadMode,
  type Snapshot,
} from '@synod/core';
import * as wire from '../gen/synod/peer/v1/raft.js';
import { fromWire, toWire } from './uint64.js';

/**
 * Converts between the core's Raft messages and `synod.peer.v1.RaftMessage`.
 *
 * @example
 * ```ts
 * const bytes = encodeRaftMessage(message);
 * const same = decodeRaftMessage(bytes);
 * ```
 */
export function encodeRaftMessage(message: RaftMessage): Uint8Array {
  return wire.RaftMessage.encode(toWireMessage(message)).finish();
}

/** Decodes bytes into a core Raft message. Throws `CorruptionError` for malformed input. */
export function decodeRaftMessage(bytes: Uint8Array): RaftMessage {
  let decoded: wire.RaftMessage;
  try {
    decoded = wire.RaftMessage.decode(bytes);
  } catch (cause) {
    throw new CorruptionError('malformed raft message', { cause });
  }
  return fromWireMessage(decoded);
}

const entryTypeToWire: Record<EntryType, wire.EntryType> = {
  normal: wire.EntryType.ENTRY_TYPE_NORMAL,
  'conf-change': wire.EntryType.ENTRY_TYPE_CONF_CHANGE,
};

function entryToWire(entry: Entry): wire.Entry {
  return {
    term: toWire(entry.term),
    index: toWire(entry.index),
    type: entryTypeToWire[entry.type],
    data: Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength),
  };
}

function entryFromWire(entry: wire.Entry): Entry {
  let type: EntryType;
  switch (entry.type) {
    case wire.EntryType.ENTRY_TYPE_NORMAL:
      type = 'normal';
      break;
    case wire.EntryType.ENTRY_TYPE_CONF_CHANGE:
      type = 'conf-change';
      break;
    default:
      throw new CorruptionError(`unknown entry type ${entry.type}`);
  }
  return {
    term: fromWire(entry.term, 'entry.term'),
    index: fromWire(entry.index, 'entry.index'),
    type,
    data: new Uint8Array(entry.data),
  };
}

function confStateToWire(conf: ConfState): wire.ConfState {
  return {
    voters: [...conf.voters],
    learners: [...conf.learners],
    votersOutgoing: [...conf.votersOutgoing],
    autoLeave: conf.autoLeave,
  };
}

function confStateFromWire(conf: wire.ConfState | undefined): ConfState {
  return {
    voters: conf?.voters ?? [],
    learners: conf?.learners ?? [],
    votersOutgoing: conf?.votersOutgoing ?? [],
    autoLeave: conf?.autoLeave ?? false,
  };
}

/** A snapshot as `synod.peer.v1.Snapshot` (shared by the Raft and Paxos codecs). */
export function snapshotToWire(snapshot: Snapshot): wire.Snapshot {
  return {
    metadata: {
      index: toWire(snapshot.metadata.index),
      term: toWire(snapshot.metadata.term),
      confState: confStateToWire(snapshot.metadata.confState),
    },
    data: Buffer.from(snapshot.data.buffer, snapshot.data.byteOffset, snapshot.data.byteLength),
  };
}

/** A `synod.peer.v1.Snapshot` as a core snapshot; throws `CorruptionError` without metadata. */
export function snapshotFromWire(snapshot: wire.Snapshot | undefined): Snapshot {
  if (snapshot?.metadata === undefined) throw new CorruptionError('snapshot without metadata');
  return {
    metadata: {
      index: fromWire(snapshot.metadata.index, 'snapshot.index'),
      term: fromWire(snapshot.metadata.term, 'snapshot.term'),
      confState: confStateFromWire(snapshot.metadata.confState),
    },
    data: new Uint8Array(snapshot.data),
  };
}

function readModeToWire(mode: ReadMode): wire.ReadMode {
  return mode === 'lease' ? wire.ReadMode.READ_MODE_LEASE : wire.ReadMode.READ_MODE_SAFE;
}

function toWireMessage(m: RaftMessage): wire.RaftMessage {
  const head = { from: m.from, to: m.to, term: toWire(m.term) };
  switch (m.type) {
    case 'vote':
    case 'prevote':
      return {
        ...head,
        body: {
          $case: 'vote',
          value: {
            lastLogIndex: toWire(m.lastLogIndex),
            lastLogTerm: toWire(m.lastLogTerm),
            preVote: m.type === 'prevote',
            leadershipTransfer: m.leadershipTransfer,
          },
        },
      };
    case 'vote-response':
    case 'prevote-response':
      return {
        ...head,
        body: { $case: 'voteResponse', value: { reject: m.reject, preVote: m.type === 'prevote-response' } },
      };
    case 'append':
      return {
        ...head,
        body: {
          $case: 'append',
          value: {
            prevLogIndex: toWire(m.prevLogIndex),
            prevLogTerm: toWire(m.prevLogTerm),
            entries: m.entries.map(entryToWire),
            commit: toWire(m.commit),
          },
        },
      };
    case 'append-response':
      return {
        ...head,
        body: {
          $case: 'appendResponse',
          value: {
            reject: m.reject,
            index: toWire(m.index),
            rejectHint: toWire(m.rejectHint),
            logTerm: toWire(m.logTerm),
          },
        },
      };
    case 'heartbeat':
      return { ...head, body: { $case: 'heartbeat', value: { commit: toWire(m.commit), context: m.context } } };
    case 'heartbeat-response':
      return { ...head, body: { $case: 'heartbeatResponse', value: { context: m.context } } };
    case 'timeout-now':
      return { ...head, body: { $case: 'timeoutNow', value: {} } };
    case 'read-index':
      return { ...head, body: { $case: 'readIndex', value: { context: m.context, mode: readModeToWire(m.mode) } } };
    case 'read-index-response':
      return {
        ...head,
        body: {
          $case: 'readIndexResponse',
          value: { context: m.context, index: toWire(m.index), reject: m.reject },
        },
      };
    case 'propose':
      return { ...head, body: { $case: 'propose', value: { entries: m.entries.map(entryToWire) } } };
    case 'snapshot':
      return {
        ...head,
        body: {
          $case: 'snapshot',
          value: { snapshot: snapshotToWire(m.snapshot), offset: toWire(m.offset), totalBytes: toWire(m.totalBytes) },
        },
      };
    case 'snapshot-response':
      return {
        ...head,
        body: {
          $case: 'snapshotResponse',
          value: { index: toWire(m.index), offset: toWire(m.offset), reject: m.reject },
        },
      };
  }
}

function fromWireMessage(w: wire.RaftMessage): RaftMessage {
  const head = { from: w.from, to: w.to, term: fromWire(w.term, 'term') };
  const body = w.body;
  if (body === undefined) throw new CorruptionError('raft message without a body');
  switch (body.$case) {
    case 'vote':
      return {
        ...head,
        type: body.value.preVote ? 'prevote' : 'vote',
        lastLogIndex: fromWire(body.value.lastLogIndex, 'lastLogIndex'),
        lastLogTerm: fromWire(body.value.lastLogTerm, 'lastLogTerm'),
        leadershipTransfer: body.value.leadershipTransfer,
      };
    case 'voteResponse':
      return { ...head, type: body.value.preVote ? 'prevote-response' : 'vote-response', reject: body.value.reject };
    case 'append':
      return {
        ...head,
        type: 'append',
        prevLogIndex: fromWire(body.value.prevLogIndex, 'prevLogIndex'),
        prevLogTerm: fromWire(body.value.prevLogTerm, 'prevLogTerm'),
        entries: body.value.entries.map(entryFromWire),
        commit: fromWire(body.value.commit, 'commit'),
      };
    case 'appendResponse':
      return {
        ...head,
        type: 'append-response',
        reject: body.value.reject,
        index: fromWire(body.value.index, 'index'),
        rejectHint: fromWire(body.value.rejectHint, 'rejectHint'),
        logTerm: fromWire(body.value.logTerm, 'logTerm'),
      };
    case 'heartbeat':
      return { ...head, type: 'heartbeat', commit: fromWire(body.value.commit, 'commit'), context: body.value.context };
    case 'heartbeatResponse':
      return { ...head, type: 'heartbeat-response', context: body.value.context };
    case 'timeoutNow':
      return { ...head, type: 'timeout-now' };
    case 'readIndex':
      return {
        ...head,
        type: 'read-index',
        context: body.value.context,
        mode: body.value.mode === wire.ReadMode.READ_MODE_LEASE ? 'lease' : 'safe',
      };
    case 'readIndexResponse':
      return {
        ...head,
        type: 'read-index-response',
        context: body.value.context,
        index: fromWire(body.value.index, 'index'),
        reject: body.value.reject,
      };
    case 'propose':
      return { ...head, type: 'propose', entries: body.value.entries.map(entryFromWire) };
    case 'snapshot':
      return {
        ...head,
        type: 'snapshot',
        snapshot: snapshotFromWire(body.value.snapshot),
        offset: fromWire(body.value.offset, 'offset'),
        totalBytes: fromWire(body.value.totalBytes, 'totalBytes'),
      };
    case 'snapshotResponse':
      return {
        ...head,
        type: 'snapshot-response',
        index: fromWire(body.value.index, 'index'),
        offset: fromWire(body.value.offset, 'offset'),
        reject: body.value.reject,
      };
  }
}
