import type { NodeId } from '../transport/transport.js';

/**
 * Data types of the pure Raft core. Terms and indexes are JavaScript numbers
 * (exact up to 2^53); on the wire they are uint64.
 */

/** `normal` entries carry application commands (empty data = leader no-op); `conf-change` entries carry membership changes. */
export type EntryType = 'normal' | 'conf-change';

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** State that must be durable before any message that depends on it is sent. */
export interface HardState {
  readonly term: number;
  /** The candidate voted for in `term`, or undefined. */
  readonly vote: NodeId | undefined;
  readonly commit: number;
}

/** The membership configuration in effect. `votersOutgoing` is non-empty only in a joint configuration. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly votersOutgoing: readonly NodeId[];
  readonly autoLeave: boolean;
}

export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

export type RaftRole = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** How a read index is confirmed: `safe` runs a heartbeat round; `lease` trusts the leader lease (needs CheckQuorum). */
export type ReadMode = 'safe' | 'lease';

/** The answer to a read-index request: once `index` has been applied, a read with this `context` is linearizable. */
export interface ReadState {
  readonly index: number;
  readonly context: string;
}

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  /** 0 for messages that are not tied to a term (local or forwarded requests). */
  readonly term: number;
}

/** RequestVote (or PreVote when `type` is `prevote`). PreVote carries the term the sender would campaign with. */
export interface VoteRequest extends MessageBase {
  readonly type: 'vote' | 'prevote';
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /** True when the election was started by TimeoutNow; lets voters ignore their leader lease. */
  readonly leadershipTransfer: boolean;
}

export interface VoteResponse extends MessageBase {
  readonly type: 'vote-response' | 'prevote-response';
  readonly reject: boolean;
}

/** AppendEntries. */
export interface AppendRequest extends MessageBase {
  readonly type: 'append';
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

export interface AppendResponse extends MessageBase {
  readonly type: 'append-response';
  readonly reject: boolean;
  /** On success: the highest index now known to match. On rejection: the rejected prevLogIndex. */
  readonly index: number;
  /** On rejection: a hint index for fast backtracking (the follower's probe point). */
  readonly rejectHint: number;
  /** On rejection: the term of the follower's entry at `rejectHint` (0 if none). */
  readonly logTerm: number;
}

export interface HeartbeatRequest extends MessageBase {
  readonly type: 'heartbeat';
  readonly commit: number;
  /** Read-index context piggybacked on the heartbeat round, or empty. */
  readonly context: string;
}

export interface HeartbeatResponse extends MessageBase {
  readonly type: 'heartbeat-response';
  readonly context: string;
}

/** Tells the target to start an election at once (leadership transfer). */
export interface TimeoutNow extends MessageBase {
  readonly type: 'timeout-now';
}

/** A follower asking the leader for a read index on behalf of a client. */
export interface ReadIndexRequest extends MessageBase {
  readonly type: 'read-index';
  readonly context: string;
  readonly mode: ReadMode;
}

export interface ReadIndexResponse extends MessageBase {
  readonly type: 'read-index-response';
  readonly context: string;
  readonly index: number;
  /** True when the receiver could not serve the request (not leader any more). */
  readonly reject: boolean;
}

/** A proposal forwarded from a follower to the leader. */
export interface ForwardedProposal extends MessageBase {
  readonly type: 'propose';
  readonly entries: readonly Entry[];
}

/**
 * One chunk of InstallSnapshot (thesis §5.2 / paper §7). A snapshot is
 * streamed in chunks of at most `maxMessageBytes` of data: `snapshot.data`
 * holds the bytes at [`offset`, `offset + data.length`) of a snapshot of
 * `totalBytes`; every chunk repeats the metadata, so any chunk identifies
 * the snapshot. The follower acknowledges each chunk with a
 * {@link SnapshotResponse} and the last one with an append-response.
 */
export interface SnapshotRequest extends MessageBase {
  readonly type: 'snapshot';
  readonly snapshot: Snapshot;
  readonly offset: number;
  readonly totalBytes: number;
}

/**
 * A follower's answer to a snapshot chunk: it holds the first `offset`
 * bytes of the snapshot at `index`. With `reject`, the chunk was not the
 * one expected and the leader should resume from `offset` (0: start over).
 */
export interface SnapshotResponse extends MessageBase {
  readonly type: 'snapshot-response';
  readonly index: number;
  readonly offset: number;
  readonly reject: boolean;
}

export type RaftMessage =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | HeartbeatRequest
  | HeartbeatResponse
  | TimeoutNow
  | ReadIndexRequest
  | ReadIndexResponse
  | ForwardedProposal
  | SnapshotRequest
  | SnapshotResponse;

export type RaftMessageType = RaftMessage['type'];

/** Role and leader, reported in a Ready when either changed. */
export interface SoftState {
  readonly role: RaftRole;
  readonly leader: NodeId | undefined;
}

/**
 * Everything the core asks its driver to do, in this order:
 * 1. persist `snapshot` (if any), `entries` and `hardState` (if any) and sync;
 * 2. send `messages`;
 * 3. apply `committedEntries` to the state machine and serve `readStates`
 *    once their index is applied;
 * 4. call `advance(ready)`.
 *
 * When the Ready changes no term, vote or snapshot, its `append` messages
 * (a leader's) may be sent before step 1's sync: the core counts the
 * leader's own copy toward a commit only after `advance`.
 */
export interface Ready {
  readonly softState: SoftState | undefined;
  readonly hardState: HardState | undefined;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | undefined;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly RaftMessage[];
  readonly readStates: readonly ReadState[];
  /** Contexts of read-index requests that can no longer be served here (leadership lost, rejected by the leader). */
  readonly droppedReads: readonly string[];
}

export const emptyConfState: ConfState = Object.freeze({
  voters: [],
  learners: [],
  votersOutgoing: [],
  autoLeave: false,
});
