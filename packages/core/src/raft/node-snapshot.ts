import { CorruptionError } from '../errors/errors.js';

/** 'SYNS': marks snapshot data written by RaftNode. */
const MAGIC = [0x53, 0x59, 0x4e, 0x53] as const;
/** Version 1: no member contexts; version 2 adds their table. Version 1 is still written when there are none. */
const VERSION_PLAIN = 1;
const VERSION_WITH_CONTEXTS = 2;
const HEADER_BYTES = MAGIC.length + 1 + 4;

/** The parts of a snapshot that RaftNode takes: its own replicated state, and the state machine's. */
export interface NodeSnapshotParts {
  /** The table of applied proposals (see AppliedProposals). */
  readonly appliedProposals: Uint8Array;
  /** What the state machine's `snapshot()` returned. */
  readonly stateMachine: Uint8Array;
  /** The members' conf-change contexts (see member-contexts.ts); empty or absent when none. */
  readonly memberContexts?: Uint8Array;
}

/**
 * Frames a RaftNode snapshot: `['SYNS'][1][table length u32][table][state machine bytes]`,
 * or with member contexts `['SYNS'][2][table length u32][table][contexts length u32][contexts][state machine bytes]`.
 * The node keeps replicated state of its own next to the user's state
 * machine, and both must be restored from the same index.
 */
export function encodeNodeSnapshot(parts: NodeSnapshotParts): Uint8Array {
  const { appliedProposals, stateMachine } = parts;
  const contexts = parts.memberContexts ?? new Uint8Array(0);
  const extra = contexts.length === 0 ? 0 : 4 + contexts.length;
  const out = new Uint8Array(HEADER_BYTES + appliedProposals.length + extra + stateMachine.length);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[MAGIC.length] = extra === 0 ? VERSION_PLAIN : VERSION_WITH_CONTEXTS;
  view.setUint32(MAGIC.length + 1, appliedProposals.length);
  out.set(appliedProposals, HEADER_BYTES);
  let at = HEADER_BYTES + appliedProposals.length;
  if (extra > 0) {
    view.setUint32(at, contexts.length);
    out.set(contexts, at + 4);
    at += extra;
  }
  out.set(stateMachine, at);
  return out;
}

/**
 * Splits snapshot data written by {@link encodeNodeSnapshot}.
 *
 * @throws CorruptionError when the data was not written by RaftNode (or by a newer version).
 */
export function decodeNodeSnapshot(data: Uint8Array): NodeSnapshotParts {
  if (data.length < HEADER_BYTES || MAGIC.some((byte, i) => data[i] !== byte)) {
    throw new CorruptionError('snapshot data was not written by RaftNode');
  }
  const version = data[MAGIC.length];
  if (version !== VERSION_PLAIN && version !== VERSION_WITH_CONTEXTS) throw new CorruptionError(`unsupported RaftNode snapshot version ${version}`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const tableLength = view.getUint32(MAGIC.length + 1);
  if (HEADER_BYTES + tableLength > data.length) throw new CorruptionError('truncated RaftNode snapshot');
  const appliedProposals = data.subarray(HEADER_BYTES, HEADER_BYTES + tableLength);
  let at = HEADER_BYTES + tableLength;
  if (version === VERSION_PLAIN) return { appliedProposals, stateMachine: data.subarray(at) };
  if (at + 4 > data.length) throw new CorruptionError('truncated RaftNode snapshot');
  const contextsLength = view.getUint32(at);
  at += 4;
  if (at + contextsLength > data.length) throw new CorruptionError('truncated RaftNode snapshot');
  return { appliedProposals, memberContexts: data.subarray(at, at + contextsLength), stateMachine: data.subarray(at + contextsLength) };
}
