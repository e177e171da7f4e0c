import { status as RpcCode } from '@grpc/grpc-js';
import { SynodError, type KeyValue } from '@synod/core';
import * as clusterV1 from '../gen/synod/cluster/v1/cluster.js';
import type * as kvV1 from '../gen/synod/kv/v1/kv.js';

/**
 * A call to a Synod cluster failed with a status the client does not retry
 * (or kept failing until the call's deadline). `reason` is the server's
 * typed error code (`INVALID_ARGUMENT`, `SESSION_EXPIRED`, `WATCH_COMPACTED`,
 * …), or `GRPC_<STATUS>` / `NATS_<WHAT>` when the failure came from the
 * carrier itself (no server reached, TLS or credentials refused, …).
 */
export class SynodRpcError extends SynodError {
  readonly code: string;
  constructor(
    /** The status code, in gRPC's numbering (over NATS too). */
    readonly grpcCode: RpcCode,
    /** The server's typed error code, or `GRPC_<STATUS>` / `NATS_<WHAT>`. */
    readonly reason: string,
    message: string,
    /** The leader the answering node knew of, if it said. */
    readonly leaderId?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = reason;
  }
}

/**
 * Whether a failed attempt may be sent again. Writes always carry a session,
 * so a retry of one whose answer was lost applies once.
 */
export function isRetryable(failure: { readonly grpcCode: number; readonly reason: string }): boolean {
  switch (failure.grpcCode) {
    case RpcCode.UNAVAILABLE:
    case RpcCode.DEADLINE_EXCEEDED:
      return true;
    case RpcCode.RESOURCE_EXHAUSTED:
      return failure.reason === 'BUSY' || failure.reason === 'WATCH_TOO_SLOW';
    default:
      return false;
  }
}

/** Per-call options. */
export interface CallOptions {
  /** Deadline of the whole call, retries included, in ms. */
  readonly timeoutMs?: number;
  /** Ends the call (and its retries) with AbortError. */
  readonly signal?: AbortSignal;
}

/** Options of a read. */
export interface GetOptions extends CallOptions {
  /** @default 'linearizable' */
  readonly consistency?: 'linearizable' | 'lease' | 'serializable';
}

/** A key's state as the cluster answered it, with the store revision of the answer. */
export interface GetResult {
  readonly revision: number;
  readonly kv: KeyValue | undefined;
}

export interface PutResult {
  readonly revision: number;
  readonly prevKv: KeyValue | undefined;
}

export interface DeleteResult {
  readonly revision: number;
  readonly deleted: boolean;
  readonly prevKv: KeyValue | undefined;
}

export interface CasResult {
  readonly revision: number;
  readonly succeeded: boolean;
  readonly kv: KeyValue | undefined;
}

/** What a compare-and-swap requires: the current value, the key's absence, or its mod revision. */
export type CasExpectation = { readonly value: string } | { readonly absent: true } | { readonly modRevision: number };

/** A member's view of the cluster, from Cluster/Status. */
export interface MemberStatus {
  /** Where it was asked: a gRPC `host:port`, or the member's id over NATS. */
  readonly endpoint: string;
  readonly id: string;
  readonly role: 'follower' | 'pre-candidate' | 'candidate' | 'leader' | 'unknown';
  readonly term: number;
  readonly leaderId: string | undefined;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  /** The log index of the member's latest snapshot (0 before its first, or from a server that does not report it). */
  readonly snapshotIndex: number;
  readonly members: readonly { readonly id: string; readonly address: string; readonly learner: boolean }[];
  /**
   * With `includeStateHash`: the SHA-256 (hex) of the member's replicated
   * state and the log index that state has applied. Members at the same
   * `stateIndex` must have the same `stateHash`.
   */
  readonly stateHash?: string;
  readonly stateIndex?: number;
  /** The member's SWIM view of every member (state, incarnation, phi), when it runs SWIM. */
  readonly swim?: readonly { readonly id: string; readonly state: string; readonly incarnation: number; readonly phi: number | undefined }[];
}

/** A member of the configuration, as AddMember and RemoveMember answer. */
export interface ClusterMember {
  readonly id: string;
  /** Where it is reached (gRPC `host:port`; over NATS what AddMember was given, often empty). */
  readonly address: string;
  readonly learner: boolean;
}

/** Options of a client's `addMember`. */
export interface AddMemberOptions extends CallOptions {
  /** Add a learner (it receives the log, does not vote) rather than a voter. @default false */
  readonly learner?: boolean;
}

/** The wire members as {@link ClusterMember}s. */
export function clusterMembersOf(members: readonly clusterV1.Member[]): ClusterMember[] {
  return members.map((m) => ({ id: m.id, address: m.address, learner: m.learner }));
}

/** Options of a client's `memberStatus`. */
export interface MemberStatusOptions extends CallOptions {
  /** Ask for the digest of the member's state (one serialization of it on the member). @default false */
  readonly includeStateHash?: boolean;
}

/**
 * The KV and Cluster operations every Synod client offers, whatever carries
 * them (`SynodClient` over gRPC, `SynodNatsClient` over NATS), so that code
 * written against it runs over either.
 */
export interface SynodKvClient {
  put(key: string, value: string | Uint8Array, options?: CallOptions): Promise<PutResult>;
  get(key: string, options?: GetOptions): Promise<GetResult>;
  delete(key: string, options?: CallOptions): Promise<DeleteResult>;
  compareAndSwap(key: string, expected: CasExpectation, value: string | Uint8Array, options?: CallOptions): Promise<CasResult>;
  /** Status of every known member; a member that does not answer gets the failure instead. */
  status(options?: CallOptions): Promise<(MemberStatus | { readonly endpoint: string; readonly error: SynodRpcError })[]>;
  /**
   * Adds member `id`, reached at `address`, through the leader; resolves
   * with the configuration once the change applied there. The address is
   * replicated with the change, so every member (and one that joins or
   * restarts later) can reach the new one. Start the new node first
   * (`synod serve --join`). Not retried once the leader may have taken it:
   * a second attempt of a change that did apply fails with
   * INVALID_CONF_CHANGE; read Status to learn the outcome.
   */
  addMember(id: string, address: string, options?: AddMemberOptions): Promise<ClusterMember[]>;
  /** Removes member `id` (voter or learner) through the leader; resolves with the configuration after the change. */
  removeMember(id: string, options?: CallOptions): Promise<ClusterMember[]>;
  close(): void | Promise<void>;
}

const ROLE_NAMES: Readonly<Record<number, MemberStatus['role']>> = {
  [clusterV1.Role.ROLE_FOLLOWER]: 'follower',
  [clusterV1.Role.ROLE_PRE_CANDIDATE]: 'pre-candidate',
  [clusterV1.Role.ROLE_CANDIDATE]: 'candidate',
  [clusterV1.Role.ROLE_LEADER]: 'leader',
};

const utf8 = new TextDecoder();

/** A wire KeyValue as the client's KeyValue. */
export function keyValueOf(kv: kvV1.KeyValue | undefined): KeyValue | undefined {
  if (kv === undefined) return undefined;
  return {
    key: kv.key,
    value: utf8.decode(kv.value),
    createRevision: Number(kv.createRevision),
    modRevision: Number(kv.modRevision),
    version: Number(kv.version),
  };
}

/** The store revision a response header carries. */
export const revisionOf = (header: kvV1.ResponseHeader | undefined): number => Number(header?.revision ?? 0n);

/** A Cluster/Status response as a {@link MemberStatus}. */
export function memberStatusOf(endpoint: string, response: clusterV1.StatusResponse, includeStateHash = false): MemberStatus {
  return {
    ...(includeStateHash ? { stateHash: Buffer.from(response.stateHash).toString('hex'), stateIndex: Number(response.stateIndex) } : {}),
    endpoint,
    id: response.memberId,
    role: ROLE_NAMES[response.role] ?? 'unknown',
    term: Number(response.term),
    leaderId: response.leaderId === '' ? undefined : response.leaderId,
    commitIndex: Number(response.commitIndex),
    appliedIndex: Number(response.appliedIndex),
    lastIndex: Number(response.lastIndex),
    snapshotIndex: Number(response.snapshotIndex),
    members: response.members.map((m) => ({ id: m.id, address: m.address, learner: m.learner })),
    ...(response.swimMembers.length === 0
      ? {}
      : { swim: response.swimMembers.map((m) => ({ id: m.id, state: m.state, incarnation: Number(m.incarnation), phi: m.phiKnown ? m.phi : undefined })) }),
  };
}

/** The wire CAS condition of an expectation. @throws InvalidArgumentError-like Error for a malformed one */
export function casConditionOf(expected: CasExpectation): kvV1.CompareAndSwapRequest['expected'] {
  if ('value' in expected) return { $case: 'expectedValue', value: Buffer.from(expected.value, 'utf8') };
  if ('absent' in expected) return { $case: 'expectAbsent', value: true };
  if ('modRevision' in expected) return { $case: 'expectedModRevision', value: BigInt(expected.modRevision) };
  return undefined;
}

/** Full-jitter capped exponential backoff: uniform in [0, min(maxMs, initialMs × 2^attempt)). */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number): number {
  return random() * Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 20));
}

/** One session a client write holds for all its attempts. */
export interface ClientSession {
  readonly clientId: string;
  next: number;
  /** When its last write settled, on the pool's clock. */
  lastUsedMs: number;
}

/** Options of {@link SessionPool}. */
export interface SessionPoolOptions {
  /**
   * A session idle longer than this is not used again: the next write starts
   * a fresh one. Keep it below the store's `sessionTtl` (60 s by default),
   * with room for clock drift, so that no write ever continues a session the
   * store has expired (it would be refused as `SESSION_EXPIRED`, and the
   * client could not tell whether an earlier attempt of it was applied).
   * @default 30000
   */
  readonly maxIdleMs?: number;
  /** The clock idle time is measured with. @default Date.now */
  readonly now?: () => number;
}

/**
 * The sessions of one client: each write in flight holds one of its own; a
 * write whose outcome is unknown retires its session (its late application
 * must not be overtaken by a later sequence), others hand it back. Sessions
 * idle past `maxIdleMs` are dropped rather than reused.
 *
 * @example
 * ```ts
 * const pool = new SessionPool('client-1');
 * await pool.run((session) => kv.put({ key: 'k', value, session }));
 * ```
 */
export class SessionPool {
  readonly #free: ClientSession[] = [];
  readonly #maxIdleMs: number;
  readonly #now: () => number;
  #count = 0;
  constructor(
    readonly clientId: string,
    options: SessionPoolOptions = {},
  ) {
    this.#maxIdleMs = options.maxIdleMs ?? 30_000;
    if (!Number.isFinite(this.#maxIdleMs) || this.#maxIdleMs <= 0) throw new RangeError(`maxIdleMs must be a positive number of milliseconds, got ${this.#maxIdleMs}`);
    this.#now = options.now ?? Date.now;
  }

  /** A free session used recently enough, or a new one. Free sessions are stacked, most recently used last. */
  #take(): ClientSession {
    const now = this.#now();
    for (let session = this.#free.pop(); session !== undefined; session = this.#free.pop()) {
      // The rest of the stack was used even earlier: every one of them is stale too.
      if (now - session.lastUsedMs <= this.#maxIdleMs) return session;
      this.#free.length = 0;
    }
    return { clientId: `${this.clientId}/${this.#count++}`, next: 1, lastUsedMs: now };
  }

  /** Runs `write` with a session and its next sequence. */
  async run<T>(write: (session: kvV1.Session) => Promise<T>): Promise<T> {
    const session = this.#take();
    const sequence = session.next++;
    let settled = false;
    try {
      const result = await write({ clientId: session.clientId, sequence: BigInt(sequence) });
      settled = true;
      return result;
    } catch (error) {
      // A definite refusal (bad argument, say) leaves the session usable; an
      // unknown outcome (deadline, abort) may still apply later.
      settled = error instanceof SynodRpcError && !isRetryable(error) && error.reason !== 'SESSION_EXPIRED';
      throw error;
    } finally {
      if (settled) {
        session.lastUsedMs = this.#now();
        this.#free.push(session);
      }
    }
  }
}
