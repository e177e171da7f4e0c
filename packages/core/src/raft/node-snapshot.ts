import { CorruptionError } from '../errors/errors.js';

/** 'SYNS': marks snapshot data written by RaftNode. */
const MAGIC = [0x53, 0x59, 0x4e, 0x53] as const;
const VERSION = 1;
const HEADER_BYTES = MAGIC.length + 1 + 4;

/** The parts of a snapshot that RaftNode takes: its own replicated state, and the state machine's. */
export interface NodeSnapshotParts {
  /** The table of applied proposals (see AppliedProposals). */
  readonly appliedProposals: Uint8Array;
  /** What the state machine's `snapshot()` returned. */
  readonly stateMachine: Uint8Array;
}

/**
 * Frames a RaftNode snapshot: `['SYNS'][version u8][table length u32][table][state machine bytes]`.
 * The node keeps replicated state of its own next to the user's state
 * machine, and both must be restored from the same index.
 */
export function encodeNodeSnapshot(parts: NodeSnapshotParts): Uint8Array {
  const { appliedProposals, stateMachine } = parts;
  const out = new Uint8Array(HEADER_BYTES + appliedProposals.length + stateMachine.length);
  out.set(MAGIC, 0);
  out[MAGIC.length] = VERSION;
  new DataView(out.buffer).setUint32(MAGIC.length + 1, appliedProposals.length);
  out.set(appliedProposals, HEADER_BYTES);
  out.set(stateMachine, HEADER_BYTES + appliedProposals.length);
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
  if (version !== VERSION) throw new CorruptionError(`unsupported RaftNode snapshot version ${version}`);
  const tableLength = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(MAGIC.length + 1);
  if (HEADER_BYTES + tableLength > data.length) throw new CorruptionError('truncated RaftNode snapshot');
  return {
    appliedProposals: data.subarray(HEADER_BYTES, HEADER_BYTES + tableLength),
    stateMachine: data.subarray(HEADER_BYTES + tableLength),
  };
}
