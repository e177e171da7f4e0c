import { CorruptionError, InvalidArgumentError } from '../errors/errors.js';
import type { ApplyContext, StateMachine } from '../state-machine/state-machine.js';
import { utf8ByteLength } from './binary.js';
import { decodeKvCommand, encodeKvCommand } from './command-codec.js';
import { KvLimitExceededError } from './kv-errors.js';
import { decodeSnapshot, encodeSnapshot } from './snapshot-codec.js';
import { compareStrings, SessionTable } from './session-table.js';
import type {
  KeyValue,
  KvCasCondition,
  KvCommand,
  KvEvent,
  KvGetResult,
  KvQuery,
  KvQueryResult,
  KvRangeResult,
  KvRejectedResult,
  KvRejectReason,
  KvResult,
  KvUnsubscribe,
  KvWatchListener,
  KvWatchTarget,
} from './types.js';
import { WatchHub, type KvWatchOptions } from './watch-hub.js';

/**
 * Options of a {@link KvStateMachine}. Every option that changes what `apply`
 * does (limits, session TTL, session count, history size) is part of the
 * replicated configuration: all replicas must use the same values, or they
 * will diverge.
 */
export interface KvStateMachineOptions {
  /**
   * Largest key, in UTF-8 bytes.
   * @default 4096
   */
  readonly maxKeyBytes?: number;
  /**
   * Largest value (and compare-and-swap expected value), in UTF-8 bytes.
   * @default 1048576
   */
  readonly maxValueBytes?: number;
  /**
   * Largest session client id, in UTF-8 bytes.
   * @default 256
   */
  readonly maxClientIdBytes?: number;
  /**
   * How many recent events are kept for watches that start in the past, and
   * carried in snapshots. 0 keeps none.
   * @default 1000
   */
  readonly watchHistorySize?: number;
  /**
   * How long, in log-time units (those of `expire-sessions.now`, conventionally
   * milliseconds), a client session may stay idle before `expire-sessions`
   * removes it. Choose it well above the interval at which the leader proposes
   * `expire-sessions`, since a session's activity is stamped with the log time
   * of the latest such command.
   * @default 60000
   */
  readonly sessionTtl?: number;
  /**
   * Most client sessions kept; registering one more evicts the one with the
   * oldest last-applied log index.
   * @default 10000
   */
  readonly maxSessions?: number;
  /**
   * Receives errors thrown by watch listeners. Listener errors never reach
   * `apply`'s caller, because that would make this replica's apply sequence
   * differ from the others'. By default they are dropped.
   */
  readonly onWatchListenerError?: ((error: unknown, event: KvEvent) => void) | undefined;
}

/** The effective size limits of a store. */
export interface KvLimits {
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  readonly maxClientIdBytes: number;
}

interface Problem {
  readonly reason: KvRejectReason;
  readonly message: string;
  readonly error: Error;
}

function option(value: number | undefined, fallback: number, name: string, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/**
 * The reference replicated key-value state machine: put, get, delete,
 * compare-and-swap, etcd-style revisions, watches with a bounded history, and
 * client sessions for exactly-once application (Raft thesis §6.3).
 *
 * **Commands** arrive as log bytes made by {@link encodeKvCommand}.
 * `apply` never throws on bad input: undecodable bytes, empty keys and
 * oversized keys or values give a `rejected` result, the same on every
 * replica. An empty entry (a leader's no-op) gives `noop`.
 *
 * **Revisions.** The store revision starts at 0 and increases by one on each
 * put, successful compare-and-swap and delete of an existing key. Each key
 * tracks `createRevision`, `modRevision` and `version` as in etcd.
 *
 * **Sessions.** A command with `session: { clientId, sequence }` is applied at
 * most once: a retry with the last applied sequence returns the cached result
 * without applying again; an older sequence returns `stale-sequence`. A
 * session is registered by its first command, which must have sequence 1; a
 * later sequence from an unknown client means its session expired or was
 * evicted, and returns `session-expired` rather than risking a second
 * application. Sessions expire only through the `expire-sessions { now }`
 * command, which the leader proposes with its clock reading: time therefore
 * comes from the log, never from the local clock, so every replica expires
 * the same sessions at the same index. Log time never moves backwards; an
 * older `now` (say, from a new leader with a slower clock) is ignored.
 *
 * **Watches** see one event per mutation, delivered synchronously at the end
 * of the `apply` that caused it. A watch may start at any revision still in
 * the bounded history; an older one throws {@link WatchCompactedError}.
 *
 * **Snapshots** hold keys, revisions, the log time, sessions with their cached
 * results, and the watch history, in a canonical, checksummed encoding: equal
 * states give equal bytes, and `restore(snapshot())` behaves identically.
 *
 * Keys are ordered by UTF-16 code unit (JavaScript `<`), which is the same on
 * every replica; it differs from UTF-8 byte order only for characters above
 * U+FFFF versus U+E000–U+FFFF.
 *
 * @example
 * ```ts
 * const kv = new KvStateMachine();
 * kv.apply(encodeKvCommand({ type: 'put', key: 'a', value: '1' }), { index: 1, term: 1 });
 * const r = kv.apply(
 *   encodeKvCommand({ type: 'cas', key: 'a', expected: { kind: 'value', value: '1' }, value: '2' }),
 *   { index: 2, term: 1 },
 * );
 * // r: { type: 'cas', succeeded: true, revision: 2, kv: { key: 'a', value: '2', version: 2, … } }
 * const stop = kv.watch({ prefix: 'a' }, 1, (event) => console.log(event.type, event.revision));
 * // logs "put 1", "put 2" at once, then every later change under "a"
 * stop();
 * ```
 */
export class KvStateMachine implements StateMachine<Uint8Array, KvResult, KvQuery, KvQueryResult> {
  /** The size limits in force. */
  readonly limits: KvLimits;
  readonly #sessionTtl: number;
  readonly #maxSessions: number;
  #kvs = new Map<string, KeyValue>();
  #revision = 0;
  #appliedIndex = 0;
  #logTime = 0;
  readonly #sessions = new SessionTable();
  readonly #watch: WatchHub;

  constructor(options: KvStateMachineOptions = {}) {
    this.limits = Object.freeze({
      maxKeyBytes: option(options.maxKeyBytes, 4096, 'maxKeyBytes', 1),
      maxValueBytes: option(options.maxValueBytes, 1_048_576, 'maxValueBytes', 0),
      maxClientIdBytes: option(options.maxClientIdBytes, 256, 'maxClientIdBytes', 1),
    });
    this.#sessionTtl = option(options.sessionTtl, 60_000, 'sessionTtl', 0);
    this.#maxSessions = option(options.maxSessions, 10_000, 'maxSessions', 1);
    const onError = options.onWatchListenerError ?? ((): void => undefined);
    this.#watch = new WatchHub(option(options.watchHistorySize, 1000, 'watchHistorySize', 0), onError);
  }

  /** The store revision: the number of mutations applied so far. */
  get revision(): number {
    return this.#revision;
  }

  /** The index of the last applied entry (0 before any). */
  get appliedIndex(): number {
    return this.#appliedIndex;
  }

  /** The latest `now` carried by an `expire-sessions` command (0 before any). */
  get logTime(): number {
    return this.#logTime;
  }

  /** The newest revision that has left the watch history; watches may start at `compactRevision + 1`. */
  get compactRevision(): number {
    return this.#watch.compactRevision;
  }

  /** The number of keys. */
  get size(): number {
    return this.#kvs.size;
  }

  /** The number of live client sessions. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /**
   * Applies one committed log entry made by {@link encodeKvCommand}. Never
   * throws for bad entry bytes; see the class overview for the result kinds.
   *
   * @throws InvalidArgumentError only when `context.index` is not a
   * non-negative integer (a driver bug).
   * @example
   * ```ts
   * for (const entry of ready.committedEntries) {
   *   const result = kv.apply(entry.data, entry);
   * }
   * ```
   */
  apply(command: Uint8Array, context: ApplyContext): KvResult {
    if (!Number.isSafeInteger(context.index) || context.index < 0) {
      // A driver bug, not log data: every replica's driver would pass the same
      // index, so throwing here cannot split replicas, while storing a bad
      // index would poison later snapshots.
      throw new InvalidArgumentError(`apply context index must be a non-negative integer, got ${String(context.index)}`);
    }
    this.#appliedIndex = context.index;
    if (command.length === 0) return Object.freeze({ type: 'noop', revision: this.#revision });
    let decoded: KvCommand;
    try {
      decoded = decodeKvCommand(command);
    } catch (err) {
      if (!(err instanceof CorruptionError)) throw err;
      return rejected('malformed', err.message);
    }
    return this.#execute(decoded, context);
  }

  /**
   * Applies a typed command, exactly as `apply(encodeKvCommand(command))`
   * would. For embedding the store without a log, and for tests. Throws
   * `InvalidArgumentError` for a command that has no encoding.
   *
   * @example
   * ```ts
   * kv.applyCommand({ type: 'delete', key: 'a' }, { index: 3, term: 1 });
   * ```
   */
  applyCommand(command: KvCommand, context: ApplyContext): KvResult {
    return this.apply(encodeKvCommand(command), context);
  }

  /**
   * Checks a command against this store's limits before it is proposed, so
   * that a client hears about an oversized value at once instead of through a
   * `rejected` result after a round of consensus.
   *
   * @throws KvLimitExceededError for an oversized key, value or client id.
   * @throws InvalidArgumentError for an empty key.
   * @example
   * ```ts
   * kv.validate(command);
   * await node.propose(encodeKvCommand(command));
   * ```
   */
  validate(command: KvCommand): void {
    const problem = this.#check(command);
    if (problem !== undefined) throw problem.error;
  }

  /**
   * Answers a read-only query. Throws `InvalidArgumentError` for a malformed
   * query.
   *
   * @example
   * ```ts
   * const { kvs, revision } = kv.query({ type: 'range', prefix: 'users/' }) as KvRangeResult;
   * ```
   */
  query(query: KvQuery): KvQueryResult {
    switch (query?.type) {
      case 'get':
        if (typeof query.key !== 'string') throw new InvalidArgumentError('get query needs a string key');
        return this.#get(query.key);
      case 'range':
        return this.range(query.prefix, query.limit);
      default:
        throw new InvalidArgumentError(`unknown KV query ${JSON.stringify((query as { type?: unknown })?.type)}`);
    }
  }

  /**
   * The current value of `key`, or undefined.
   *
   * @example
   * ```ts
   * const value = kv.get('a')?.value;
   * ```
   */
  get(key: string): KeyValue | undefined {
    return this.#kvs.get(key);
  }

  /**
   * Every key starting with `prefix`, in ascending order, at most `limit` of
   * them. Sorts on each call: this reference store favours simplicity over
   * range performance.
   *
   * @example
   * ```ts
   * const { kvs, more } = kv.range('users/', 100);
   * ```
   */
  range(prefix: string, limit?: number): KvRangeResult {
    if (typeof prefix !== 'string') throw new InvalidArgumentError('range prefix must be a string');
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
      throw new InvalidArgumentError(`range limit must be a positive integer, got ${String(limit)}`);
    }
    const keys = [...this.#kvs.keys()].filter((k) => k.startsWith(prefix)).sort(compareStrings);
    const taken = limit === undefined ? keys : keys.slice(0, limit);
    const kvs = taken.map((k) => this.#kvs.get(k) as KeyValue);
    return Object.freeze({
      type: 'range',
      revision: this.#revision,
      kvs: Object.freeze(kvs),
      more: taken.length < keys.length,
    });
  }

  /**
   * Watches one key or a prefix. Events with revision `fromRevision` and later
   * are delivered in order: those still in history at once (before `watch`
   * returns), later ones at the end of the `apply` that makes them. Without
   * `fromRevision` the watch starts with the next mutation.
   *
   * @throws WatchCompactedError when `fromRevision <= compactRevision`.
   * @throws InvalidArgumentError for a bad target or revision.
   * @example
   * ```ts
   * const stop = kv.watch({ key: 'config' }, undefined, (event) => {
   *   if (event.type === 'put') reload(event.kv.value);
   * });
   * ```
   */
  watch(
    target: KvWatchTarget,
    fromRevision: number | undefined,
    listener: KvWatchListener,
    options?: KvWatchOptions,
  ): KvUnsubscribe {
    return this.#watch.watch(target, fromRevision, this.#revision, listener, options);
  }

  /**
   * Serializes the whole state (see the class overview).
   *
   * @example
   * ```ts
   * const copy = new KvStateMachine();
   * copy.restore(kv.snapshot());
   * ```
   */
  snapshot(): Uint8Array {
    const kvs = [...this.#kvs.values()].sort((a, b) => compareStrings(a.key, b.key));
    return encodeSnapshot({
      revision: this.#revision,
      appliedIndex: this.#appliedIndex,
      logTime: this.#logTime,
      compactRevision: this.#watch.compactRevision,
      kvs,
      sessions: this.#sessions.sorted(),
      events: this.#watch.history(),
    });
  }

  /**
   * Replaces the whole state from a snapshot. Running watches continue from
   * the restored history when it still covers their position, and are
   * cancelled through `onCancel` otherwise.
   *
   * @throws CorruptionError, leaving the state unchanged, when the snapshot is
   * malformed or damaged.
   * @example
   * ```ts
   * kv.restore(snapshot.data);
   * ```
   */
  restore(snapshot: Uint8Array): void {
    const state = decodeSnapshot(snapshot);
    this.#kvs = new Map(state.kvs.map((kv) => [kv.key, kv]));
    this.#revision = state.revision;
    this.#appliedIndex = state.appliedIndex;
    this.#logTime = state.logTime;
    this.#sessions.clear();
    for (const s of state.sessions) this.#sessions.set({ ...s });
    // A snapshot from a store with a larger session limit is trimmed the same
    // way on every replica that shares this configuration.
    while (this.#sessions.size > this.#maxSessions) this.#sessions.evictOldest();
    this.#watch.reset(state.events, state.compactRevision);
  }

  #execute(command: KvCommand, context: ApplyContext): KvResult {
    if (command.type === 'batch') {
      // In order, each with its own session: a retried command inside a batch
      // is answered from its session like a retried command alone.
      const results = command.commands.map((part) => this.#execute(part, context));
      return Object.freeze({ type: 'batch', revision: this.#revision, results: Object.freeze(results) });
    }
    if (command.type === 'expire-sessions') {
      this.#logTime = Math.max(this.#logTime, command.now);
      const expired = this.#sessions.expire(this.#logTime, this.#sessionTtl);
      return Object.freeze({ type: 'expire-sessions', revision: this.#revision, expired: Object.freeze(expired) });
    }
    const session = command.session;
    if (session === undefined) return this.#run(command);

    const idBytes = utf8ByteLength(session.clientId);
    if (idBytes > this.limits.maxClientIdBytes) {
      return rejected('client-id-too-large', this.#tooLarge('client-id', idBytes).message);
    }
    const record = this.#sessions.get(session.clientId);
    if (record !== undefined) {
      if (session.sequence === record.lastSequence) {
        // A retry of a command that was applied: answer it again, but do not
        // apply it twice. The client is evidently alive, so refresh it.
        record.lastIndex = context.index;
        record.lastActive = this.#logTime;
        return record.lastResult;
      }
      if (session.sequence < record.lastSequence) {
        return Object.freeze({
          type: 'stale-sequence',
          clientId: session.clientId,
          sequence: session.sequence,
          lastSequence: record.lastSequence,
        });
      }
    } else if (session.sequence > 1) {
      return Object.freeze({ type: 'session-expired', clientId: session.clientId, sequence: session.sequence });
    }

    const result = this.#run(command);
    if (record !== undefined) {
      record.lastSequence = session.sequence;
      record.lastResult = result;
      record.lastIndex = context.index;
      record.lastActive = this.#logTime;
    } else {
      if (this.#sessions.size >= this.#maxSessions) this.#sessions.evictOldest();
      this.#sessions.set({
        clientId: session.clientId,
        lastSequence: session.sequence,
        lastResult: result,
        lastIndex: context.index,
        lastActive: this.#logTime,
      });
    }
    return result;
  }

  /** Runs a data command; events go out last, so listeners see the session table already updated. */
  #run(command: Exclude<KvCommand, { type: 'expire-sessions' | 'batch' }>): KvResult {
    const problem = this.#check(command);
    if (problem !== undefined) return rejected(problem.reason, problem.message);
    switch (command.type) {
      case 'get':
        return this.#get(command.key);
      case 'put': {
        const { kv, prevKv } = this.#put(command.key, command.value);
        return Object.freeze({ type: 'put', revision: this.#revision, kv, prevKv });
      }
      case 'delete': {
        const prevKv = this.#kvs.get(command.key);
        if (prevKv === undefined) {
          return Object.freeze({ type: 'delete', revision: this.#revision, deleted: false, prevKv: undefined });
        }
        this.#revision++;
        this.#kvs.delete(command.key);
        this.#watch.append(Object.freeze({ type: 'delete', revision: this.#revision, key: command.key, prevKv }));
        return Object.freeze({ type: 'delete', revision: this.#revision, deleted: true, prevKv });
      }
      case 'cas': {
        const current = this.#kvs.get(command.key);
        if (!holds(command.expected, current)) {
          return Object.freeze({ type: 'cas', revision: this.#revision, succeeded: false, kv: current });
        }
        const { kv } = this.#put(command.key, command.value);
        return Object.freeze({ type: 'cas', revision: this.#revision, succeeded: true, kv });
      }
    }
  }

  #put(key: string, value: string): { kv: KeyValue; prevKv: KeyValue | undefined } {
    const prevKv = this.#kvs.get(key);
    this.#revision++;
    const kv: KeyValue = Object.freeze({
      key,
      value,
      createRevision: prevKv?.createRevision ?? this.#revision,
      modRevision: this.#revision,
      version: (prevKv?.version ?? 0) + 1,
    });
    this.#kvs.set(key, kv);
    this.#watch.append(Object.freeze({ type: 'put', revision: this.#revision, kv, prevKv }));
    return { kv, prevKv };
  }

  #get(key: string): KvGetResult {
    return Object.freeze({ type: 'get', revision: this.#revision, kv: this.#kvs.get(key) });
  }

  /** The first limit a command breaks, if any. Shared by `validate` (throws) and `apply` (rejects). */
  #check(command: KvCommand): Problem | undefined {
    if (command.type === 'expire-sessions') return undefined;
    if (command.type === 'batch') {
      for (const part of command.commands) {
        const problem = this.#check(part);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    if (command.session !== undefined) {
      const idBytes = utf8ByteLength(command.session.clientId);
      if (idBytes > this.limits.maxClientIdBytes) return this.#tooLarge('client-id', idBytes);
    }
    if (command.key.length === 0) {
      const message = 'key must not be empty';
      return { reason: 'empty-key', message, error: new InvalidArgumentError(message) };
    }
    const keyBytes = utf8ByteLength(command.key);
    if (keyBytes > this.limits.maxKeyBytes) return this.#tooLarge('key', keyBytes);
    if (command.type === 'put' || command.type === 'cas') {
      const valueBytes = utf8ByteLength(command.value);
      if (valueBytes > this.limits.maxValueBytes) return this.#tooLarge('value', valueBytes);
    }
    if (command.type === 'cas' && command.expected.kind === 'value') {
      const expectedBytes = utf8ByteLength(command.expected.value);
      if (expectedBytes > this.limits.maxValueBytes) return this.#tooLarge('value', expectedBytes);
    }
    return undefined;
  }

  #tooLarge(limit: 'key' | 'value' | 'client-id', sizeBytes: number): Problem {
    const limitBytes =
      limit === 'key'
        ? this.limits.maxKeyBytes
        : limit === 'value'
          ? this.limits.maxValueBytes
          : this.limits.maxClientIdBytes;
    const error = new KvLimitExceededError(limit, sizeBytes, limitBytes);
    return { reason: `${limit}-too-large`, message: error.message, error };
  }
}

function holds(expected: KvCasCondition, current: KeyValue | undefined): boolean {
  switch (expected.kind) {
    case 'absent':
      return current === undefined;
    case 'value':
      return current !== undefined && current.value === expected.value;
    case 'mod-revision':
      // etcd semantics: modRevision 0 means "the key does not exist".
      return (current?.modRevision ?? 0) === expected.modRevision;
  }
}

function rejected(reason: KvRejectReason, message: string): KvRejectedResult {
  return Object.freeze({ type: 'rejected', reason, message });
}
