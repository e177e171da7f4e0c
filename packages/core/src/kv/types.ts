/**
 * Data types of the reference KV state machine.
 *
 * Keys and values are JavaScript strings, stored and limited as UTF-8. Strings
 * must be well-formed UTF-16 (no lone surrogates), because a lone surrogate
 * has no UTF-8 encoding and would not survive the trip through the log.
 *
 * Revisions follow etcd: the store has one revision counter that increases by
 * exactly one on every mutation (put, successful compare-and-swap, delete of an
 * existing key). A fresh store is at revision 0.
 */

/** A key with its value and revision bookkeeping. */
export interface KeyValue {
  readonly key: string;
  readonly value: string;
  /** The store revision at which this key was last created (after not existing). */
  readonly createRevision: number;
  /** The store revision of the last change to this key. */
  readonly modRevision: number;
  /** The number of puts since the key was created: 1 after creation; reset by delete. */
  readonly version: number;
}

/**
 * Identifies a client request for exactly-once application (Raft thesis §6.3).
 * A client numbers its requests 1, 2, 3, … under one `clientId` and keeps at
 * most one request outstanding; it retries a request with the same sequence
 * until it sees the result.
 */
export interface KvSession {
  readonly clientId: string;
  /** A positive integer; the first request of a session is 1. */
  readonly sequence: number;
}

interface KvCommandBase {
  /** Present to make the command exactly-once; see {@link KvSession}. */
  readonly session?: KvSession | undefined;
}

/** Sets `key` to `value`, creating it if needed. */
export interface KvPutCommand extends KvCommandBase {
  readonly type: 'put';
  readonly key: string;
  readonly value: string;
}

/** Removes `key`. Deleting a missing key is not an error; it changes nothing and does not bump the revision. */
export interface KvDeleteCommand extends KvCommandBase {
  readonly type: 'delete';
  readonly key: string;
}

/**
 * What a compare-and-swap requires of the key's current state:
 * - `value`: the key exists with exactly this value;
 * - `absent`: the key does not exist;
 * - `mod-revision`: the key's `modRevision` equals this number; `0` matches
 *   only a missing key, as in etcd.
 */
export type KvCasCondition =
  | { readonly kind: 'value'; readonly value: string }
  | { readonly kind: 'absent' }
  | { readonly kind: 'mod-revision'; readonly modRevision: number };

/** Sets `key` to `value` only if `expected` holds. */
export interface KvCasCommand extends KvCommandBase {
  readonly type: 'cas';
  readonly key: string;
  readonly expected: KvCasCondition;
  readonly value: string;
}

/** Reads `key` through the log (a linearizable read that costs a log entry). */
export interface KvGetCommand extends KvCommandBase {
  readonly type: 'get';
  readonly key: string;
}

/**
 * Advances the store's log time to `now` (if later) and expires every client
 * session idle for longer than the session TTL. The leader proposes this
 * periodically with its own clock reading; because the time travels in the
 * log, every replica expires the same sessions at the same index.
 */
export interface KvExpireSessionsCommand {
  readonly type: 'expire-sessions';
  /** A non-negative integer time, conventionally milliseconds. */
  readonly now: number;
}

/** A command that may go in a {@link KvBatchCommand}: a write. */
export type KvBatchableCommand = KvPutCommand | KvDeleteCommand | KvCasCommand;

/**
 * Several writes in one log entry, applied in order by one `apply` call, each
 * with its own session and its own result (see {@link KvBatchResult}). A
 * server folds the writes of concurrent clients into one batch, so that a
 * burst of requests costs one entry, one frame per follower and one apply.
 * Every replica applies the whole batch at the same index: nothing can come
 * between its commands.
 */
export interface KvBatchCommand {
  readonly type: 'batch';
  /** At least one. */
  readonly commands: readonly KvBatchableCommand[];
}

/** Every command the KV state machine applies. */
export type KvCommand = KvPutCommand | KvDeleteCommand | KvCasCommand | KvGetCommand | KvExpireSessionsCommand | KvBatchCommand;

/** The result of a put. `revision` is the new store revision. */
export interface KvPutResult {
  readonly type: 'put';
  readonly revision: number;
  readonly kv: KeyValue;
  /** The key before the put, or undefined if it did not exist. */
  readonly prevKv: KeyValue | undefined;
}

/** The result of a delete. `revision` is the new store revision, or the unchanged one when nothing was deleted. */
export interface KvDeleteResult {
  readonly type: 'delete';
  readonly revision: number;
  readonly deleted: boolean;
  readonly prevKv: KeyValue | undefined;
}

/** The result of a compare-and-swap. `kv` is the key's state after the command (the new value when it succeeded). */
export interface KvCasResult {
  readonly type: 'cas';
  readonly revision: number;
  readonly succeeded: boolean;
  readonly kv: KeyValue | undefined;
}

/** The result of a get (command or query). `revision` is the store revision the read observed. */
export interface KvGetResult {
  readonly type: 'get';
  readonly revision: number;
  readonly kv: KeyValue | undefined;
}

/** The result of `expire-sessions`: the expired client ids in ascending order. */
export interface KvExpireSessionsResult {
  readonly type: 'expire-sessions';
  readonly revision: number;
  readonly expired: readonly string[];
}

/** The result of an empty log entry (a leader's no-op); it changes nothing. */
export interface KvNoopResult {
  readonly type: 'noop';
  readonly revision: number;
}

/**
 * The command carried a sequence older than the last one applied for its
 * client. The command was not applied; the client has already moved on and
 * this is a late duplicate.
 */
export interface KvStaleSequenceResult {
  readonly type: 'stale-sequence';
  readonly clientId: string;
  readonly sequence: number;
  readonly lastSequence: number;
}

/**
 * The command continued a session (sequence > 1) that the store does not know:
 * it expired or was evicted. The command was not applied, because the store
 * can no longer tell whether an earlier attempt was; the client must start a
 * new session under a new client id.
 */
export interface KvSessionExpiredResult {
  readonly type: 'session-expired';
  readonly clientId: string;
  readonly sequence: number;
}

/** Why a command was rejected without being applied. */
export type KvRejectReason =
  | 'malformed'
  | 'empty-key'
  | 'key-too-large'
  | 'value-too-large'
  | 'client-id-too-large';

/**
 * The command could not be applied. Rejection is deterministic (every replica
 * rejects the same command), so `apply` returns it rather than throwing.
 */
export interface KvRejectedResult {
  readonly type: 'rejected';
  readonly reason: KvRejectReason;
  readonly message: string;
}

/** The result of a batch: the result of each of its commands, in order. `revision` is the store revision after the batch. */
export interface KvBatchResult {
  readonly type: 'batch';
  readonly revision: number;
  readonly results: readonly KvResult[];
}

/** Everything `apply` can return. */
export type KvResult =
  | KvBatchResult
  | KvPutResult
  | KvDeleteResult
  | KvCasResult
  | KvGetResult
  | KvExpireSessionsResult
  | KvNoopResult
  | KvStaleSequenceResult
  | KvSessionExpiredResult
  | KvRejectedResult;

/** Reads one key. */
export interface KvGetQuery {
  readonly type: 'get';
  readonly key: string;
}

/** Reads every key that starts with `prefix` (all keys for `''`), in ascending key order. */
export interface KvRangeQuery {
  readonly type: 'range';
  readonly prefix: string;
  /** At most this many keys; all when omitted. */
  readonly limit?: number | undefined;
}

/** A read-only query against the current state. */
export type KvQuery = KvGetQuery | KvRangeQuery;

/** The answer to a range query. `more` is true when `limit` cut the answer short. */
export interface KvRangeResult {
  readonly type: 'range';
  readonly revision: number;
  readonly kvs: readonly KeyValue[];
  readonly more: boolean;
}

/** Everything `query` can return. */
export type KvQueryResult = KvGetResult | KvRangeResult;

/** A key was created or updated at `revision`. */
export interface KvPutEvent {
  readonly type: 'put';
  readonly revision: number;
  readonly kv: KeyValue;
  readonly prevKv: KeyValue | undefined;
}

/** A key was deleted at `revision`. */
export interface KvDeleteEvent {
  readonly type: 'delete';
  readonly revision: number;
  readonly key: string;
  readonly prevKv: KeyValue;
}

/** One change to the store. Each mutation emits exactly one event, so event revisions are consecutive. */
export type KvEvent = KvPutEvent | KvDeleteEvent;

/** What a watch observes: a single key, or every key under a prefix. */
export type KvWatchTarget = { readonly key: string } | { readonly prefix: string };

/** Receives events in revision order. */
export type KvWatchListener = (event: KvEvent) => void;

/** Stops a watch. Calling it more than once is harmless. */
export type KvUnsubscribe = () => void;
