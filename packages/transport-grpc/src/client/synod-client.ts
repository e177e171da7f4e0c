import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { AbortError, InvalidArgumentError, TimeoutError, type KeyValue } from '@synod/core';
import { clusterV1, kvV1 } from '@synod/protocol';
import { createChannelCredentials, type ClientSecurity, type GrpcSecurity } from '../security.js';
import { callFailure, isRetryable, SynodRpcError, type CallFailure } from './client-errors.js';

/** Options of {@link SynodClient}. */
export interface SynodClientOptions {
  /** `host:port` of one or more members; the rest are learned from Cluster/Status. */
  readonly endpoints: readonly string[];
  /** TLS (`{ tls: { ca, cert?, key? } }`) or `{ insecure: true }`; a node's own `GrpcSecurity` works too. */
  readonly security: ClientSecurity | GrpcSecurity;
  /** Prefix of this client's session ids; unique per client. @default a random UUID */
  readonly clientId?: string;
  /** Deadline of a call, retries included, when the call gives none, in ms. @default 10000 */
  readonly timeoutMs?: number;
  /** Deadline of one attempt, in ms; a slow node is given up on and another tried. @default 3000 */
  readonly attemptTimeoutMs?: number;
  /** Delays between attempts: uniform in [0, min(maxMs, initialMs × 2^attempt)). @default { initialMs: 50, maxMs: 1000 } */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Uniform random numbers in [0, 1) for the jitter. @default Math.random */
  readonly random?: () => number;
  /** Extra grpc-js channel options. */
  readonly channelOptions?: grpc.ChannelOptions;
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

/** One change seen by {@link SynodClient.watch}. For deletes `kv` has the key and `modRevision` only. */
export interface WatchEvent {
  readonly type: 'put' | 'delete';
  readonly revision: number;
  readonly kv: KeyValue;
}

export interface WatchOptions {
  /** Watch every key starting with `key`. */
  readonly prefix?: boolean;
  /** First revision to deliver; by default the changes after the current revision. */
  readonly startRevision?: number;
  /** Ends the iteration. */
  readonly signal?: AbortSignal;
}

/** A member's view of the cluster, from Cluster/Status. */
export interface MemberStatus {
  readonly endpoint: string;
  readonly id: string;
  readonly role: 'follower' | 'pre-candidate' | 'candidate' | 'leader' | 'unknown';
  readonly term: number;
  readonly leaderId: string | undefined;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly members: readonly { readonly id: string; readonly address: string; readonly learner: boolean }[];
  /**
   * With `includeStateHash`: the SHA-256 (hex) of the member's replicated
   * state and the log index that state has applied. Members at the same
   * `stateIndex` must have the same `stateHash`.
   */
  readonly stateHash?: string;
  /** The member's SWIM view of every member (state, incarnation, phi), when it runs SWIM. */
  readonly swim?: readonly { readonly id: string; readonly state: string; readonly incarnation: number; readonly phi: number | undefined }[];
  readonly stateIndex?: number;
}

/** Options of {@link SynodClient.memberStatus}. */
export interface MemberStatusOptions extends CallOptions {
  /** Ask for the digest of the member's state (one serialization of it on the member). @default false */
  readonly includeStateHash?: boolean;
}

interface Stubs {
  readonly kv: kvV1.KVClient;
  readonly cluster: clusterV1.ClusterClient;
}

interface Session {
  readonly clientId: string;
  next: number;
}

const ROLE_NAMES: Readonly<Record<number, MemberStatus['role']>> = {
  [clusterV1.Role.ROLE_FOLLOWER]: 'follower',
  [clusterV1.Role.ROLE_PRE_CANDIDATE]: 'pre-candidate',
  [clusterV1.Role.ROLE_CANDIDATE]: 'candidate',
  [clusterV1.Role.ROLE_LEADER]: 'leader',
};

const utf8 = new TextDecoder();

function keyValue(kv: kvV1.KeyValue | undefined): KeyValue | undefined {
  if (kv === undefined) return undefined;
  return {
    key: kv.key,
    value: utf8.decode(kv.value),
    createRevision: Number(kv.createRevision),
    modRevision: Number(kv.modRevision),
    version: Number(kv.version),
  };
}

const revisionOf = (header: kvV1.ResponseHeader | undefined): number => Number(header?.revision ?? 0n);

/**
 * A TypeScript client of a Synod cluster over gRPC.
 *
 * - **Leader discovery.** It starts at the first endpoint, learns every
 *   member's address from `Cluster/Status`, and sends calls to the leader
 *   (any member answers, but the leader spares a forwarding hop). A node that
 *   cannot serve answers UNAVAILABLE with the leader's endpoint, which the
 *   client follows.
 * - **Retries** of UNAVAILABLE, an attempt's deadline and BUSY, with capped
 *   exponential backoff and full jitter, on the next member, until the call's
 *   deadline (`timeoutMs`) or its `signal`.
 * - **Exactly-once writes.** Every put, delete and compare-and-swap carries a
 *   `Session { client_id, sequence }`; a retry repeats the sequence, so a
 *   write whose answer was lost is applied once. Each write in flight holds
 *   a session of its own, so concurrent writes are fine.
 * - **watch()** is an async iterator that resumes from the revision after
 *   the last event it delivered when its stream breaks.
 *
 * @example
 * ```ts
 * const client = new SynodClient({ endpoints: ['127.0.0.1:7001', '127.0.0.1:7002'], security: { insecure: true } });
 * await client.put('greeting', 'hello');
 * const { kv } = await client.get('greeting'); // kv.value === 'hello'
 * for await (const event of client.watch('greeting', { startRevision: 1 })) console.log(event.type, event.kv.value);
 * client.close();
 * ```
 */
export class SynodClient {
  readonly #endpoints: string[];
  readonly #credentials: grpc.ChannelCredentials;
  readonly #stubs = new Map<string, Stubs>();
  readonly #timeoutMs: number;
  readonly #attemptTimeoutMs: number;
  readonly #backoffInitialMs: number;
  readonly #backoffMaxMs: number;
  readonly #random: () => number;
  readonly #channelOptions: grpc.ChannelOptions;
  readonly #clientId: string;
  /** Member id → endpoint, learned from Status and response headers. */
  readonly #addresses = new Map<string, string>();
  readonly #freeSessions: Session[] = [];
  #sessionCount = 0;
  #preferred = 0;
  #discovered = false;
  #closed = false;

  constructor(options: SynodClientOptions) {
    if (!Array.isArray(options.endpoints) || options.endpoints.length === 0) {
      throw new InvalidArgumentError('endpoints must list at least one host:port');
    }
    for (const endpoint of options.endpoints) {
      if (typeof endpoint !== 'string' || !/^.+:\d+$/.test(endpoint)) throw new InvalidArgumentError(`endpoint '${String(endpoint)}' is not host:port`);
    }
    this.#endpoints = [...new Set(options.endpoints)];
    this.#credentials = createChannelCredentials(options.security);
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#attemptTimeoutMs = options.attemptTimeoutMs ?? 3_000;
    this.#backoffInitialMs = options.backoff?.initialMs ?? 50;
    this.#backoffMaxMs = options.backoff?.maxMs ?? 1_000;
    this.#random = options.random ?? Math.random;
    this.#clientId = options.clientId ?? randomUUID();
    this.#channelOptions = {
      // Come back quickly to a member that restarts.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1_000,
      ...options.channelOptions,
    };
  }

  /** The endpoint the next call goes to first (the leader's, once known). */
  get preferredEndpoint(): string {
    return this.#endpoints[this.#preferred % this.#endpoints.length]!;
  }

  /** Stores `value` at `key`, exactly once. */
  async put(key: string, value: string | Uint8Array, options: CallOptions = {}): Promise<PutResult> {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
    const response = await this.#write(options, (session) =>
      this.#unary<kvV1.PutRequest, kvV1.PutResponse>('put', { key, value: bytes, session }),
    );
    return { revision: revisionOf(response.header), prevKv: keyValue(response.prevKv) };
  }

  /** Reads `key`; linearizable unless `consistency` says otherwise. */
  async get(key: string, options: GetOptions = {}): Promise<GetResult> {
    const consistency = {
      linearizable: kvV1.Consistency.CONSISTENCY_LINEARIZABLE,
      lease: kvV1.Consistency.CONSISTENCY_LEASE,
      serializable: kvV1.Consistency.CONSISTENCY_SERIALIZABLE,
    }[options.consistency ?? 'linearizable'];
    if (consistency === undefined) throw new InvalidArgumentError(`unknown consistency '${String(options.consistency)}'`);
    const response = await this.#retrying(options, this.#unary<kvV1.GetRequest, kvV1.GetResponse>('get', { key, consistency }));
    return { revision: revisionOf(response.header), kv: keyValue(response.kv) };
  }

  /** Removes `key`, exactly once. */
  async delete(key: string, options: CallOptions = {}): Promise<DeleteResult> {
    const response = await this.#write(options, (session) =>
      this.#unary<kvV1.DeleteRequest, kvV1.DeleteResponse>('delete', { key, session }),
    );
    return { revision: revisionOf(response.header), deleted: response.deleted, prevKv: keyValue(response.prevKv) };
  }

  /** Sets `key` to `value` when `expected` holds, exactly once. */
  async compareAndSwap(key: string, expected: CasExpectation, value: string | Uint8Array, options: CallOptions = {}): Promise<CasResult> {
    let condition: kvV1.CompareAndSwapRequest['expected'];
    if ('value' in expected) condition = { $case: 'expectedValue', value: Buffer.from(expected.value, 'utf8') };
    else if ('absent' in expected) condition = { $case: 'expectAbsent', value: true };
    else if ('modRevision' in expected) condition = { $case: 'expectedModRevision', value: BigInt(expected.modRevision) };
    else throw new InvalidArgumentError('expected must be { value }, { absent: true } or { modRevision }');
    const newValue = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
    const response = await this.#write(options, (session) =>
      this.#unary<kvV1.CompareAndSwapRequest, kvV1.CompareAndSwapResponse>('compareAndSwap', { key, expected: condition, newValue, session }),
    );
    return { revision: revisionOf(response.header), succeeded: response.succeeded, kv: keyValue(response.kv) };
  }

  /**
   * Cluster/Status of one member (by endpoint), without retries.
   *
   * @example
   * ```ts
   * const { stateHash, stateIndex } = await client.memberStatus('127.0.0.1:7001', { includeStateHash: true });
   * ```
   */
  async memberStatus(endpoint: string, options: MemberStatusOptions = {}): Promise<MemberStatus> {
    const deadline = Date.now() + (options.timeoutMs ?? this.#attemptTimeoutMs);
    const includeStateHash = options.includeStateHash === true;
    const response = await this.#call<clusterV1.StatusResponse>(endpoint, deadline, options.signal, (stubs, callOptions, done) =>
      stubs.cluster.status({ includeStateHash }, new grpc.Metadata(), callOptions, done),
    );
    return {
      ...(includeStateHash ? { stateHash: Buffer.from(response.stateHash).toString('hex'), stateIndex: Number(response.stateIndex) } : {}),
      ...(response.swimMembers.length === 0
        ? {}
        : { swim: response.swimMembers.map((m) => ({ id: m.id, state: m.state, incarnation: Number(m.incarnation), phi: m.phiKnown ? m.phi : undefined })) }),
      endpoint,
      id: response.memberId,
      role: ROLE_NAMES[response.role] ?? 'unknown',
      term: Number(response.term),
      leaderId: response.leaderId === '' ? undefined : response.leaderId,
      commitIndex: Number(response.commitIndex),
      appliedIndex: Number(response.appliedIndex),
      lastIndex: Number(response.lastIndex),
      members: response.members.map((m) => ({ id: m.id, address: m.address, learner: m.learner })),
    };
  }

  /** Status of every known member; a member that does not answer gets the failure instead. */
  async status(options: CallOptions = {}): Promise<(MemberStatus | { readonly endpoint: string; readonly error: SynodRpcError })[]> {
    await this.#discover(options.signal).catch(() => undefined);
    return Promise.all(
      this.#endpoints.map((endpoint) =>
        this.memberStatus(endpoint, options).catch((error: unknown) => ({ endpoint, error: this.#typed(callFailure(error)) })),
      ),
    );
  }

  /**
   * Streams the changes of `key` (or of every key under it with `prefix`)
   * from `startRevision`. When the stream breaks (a member stopped, or it
   * answers UNAVAILABLE), it reopens on another member from the revision
   * after the last event delivered, with backoff. Throws `SynodRpcError` with
   * reason `WATCH_COMPACTED` (gRPC OUT_OF_RANGE) when that revision has left
   * the history, and AbortError when `signal` fires.
   */
  async *watch(key: string, options: WatchOptions = {}): AsyncGenerator<WatchEvent, void, undefined> {
    const signal = options.signal;
    let next = options.startRevision;
    if (next === undefined) {
      // "From now" must survive a reconnect too, so pin it to a revision.
      next = (await this.get(key, { consistency: 'serializable', ...(signal ? { signal } : {}) })).revision + 1;
    }
    let failures = 0;
    for (;;) {
      if (signal?.aborted) return;
      this.#ensureOpen();
      const endpoint = this.preferredEndpoint;
      const stream = this.#stubsFor(endpoint).kv.watch({ key, prefix: options.prefix === true, startRevision: BigInt(next) });
      const onAbort = (): void => stream.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        for await (const message of stream as AsyncIterable<kvV1.WatchResponse>) {
          failures = 0;
          const revision = revisionOf(message.header);
          const kv = keyValue(message.kv) ?? { key: '', value: '', createRevision: 0, modRevision: revision, version: 0 };
          next = revision + 1;
          yield { type: message.type === kvV1.EventType.EVENT_TYPE_DELETE ? 'delete' : 'put', revision, kv };
        }
        // The server ended the stream with OK: treat it like a break.
      } catch (error) {
        if (signal?.aborted) return;
        const failure = callFailure(error);
        if (!isRetryable(failure) && failure.grpcCode !== grpc.status.CANCELLED && failure.grpcCode !== grpc.status.INTERNAL) {
          throw this.#typed(failure);
        }
        this.#follow(failure, endpoint);
      } finally {
        signal?.removeEventListener('abort', onAbort);
        stream.cancel();
      }
      await this.#sleep(this.#delay(failures++), signal).catch(() => undefined);
    }
  }

  /** Closes every channel. Calls in flight fail; later calls throw. */
  close(): void {
    this.#closed = true;
    for (const stubs of this.#stubs.values()) stubs.kv.close();
    this.#stubs.clear();
  }

  // ---- internals ----

  #ensureOpen(): void {
    if (this.#closed) throw new InvalidArgumentError('the client is closed');
  }

  #stubsFor(endpoint: string): Stubs {
    let stubs = this.#stubs.get(endpoint);
    if (stubs === undefined) {
      const kv = new kvV1.KVClient(endpoint, this.#credentials, this.#channelOptions);
      // Both services share one channel (one HTTP/2 connection) per member.
      stubs = { kv, cluster: new clusterV1.ClusterClient(endpoint, this.#credentials, { channelOverride: kv.getChannel() }) };
      this.#stubs.set(endpoint, stubs);
    }
    return stubs;
  }

  #typed(failure: CallFailure): SynodRpcError {
    return new SynodRpcError(failure.grpcCode, failure.reason, failure.message, failure.leaderId);
  }

  #delay(attempt: number): number {
    const cap = Math.min(this.#backoffMaxMs, this.#backoffInitialMs * 2 ** Math.min(attempt, 20));
    return this.#random() * cap;
  }

  #sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new AbortError());
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(new AbortError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Moves to the leader the failure names, or else to the next endpoint. */
  #follow(failure: CallFailure, endpoint: string): void {
    if (failure.leaderEndpoint !== undefined && failure.leaderEndpoint !== endpoint) {
      this.#prefer(failure.leaderEndpoint);
      if (failure.leaderId !== undefined) this.#addresses.set(failure.leaderId, failure.leaderEndpoint);
      return;
    }
    if (this.preferredEndpoint === endpoint) this.#preferred = (this.#preferred + 1) % this.#endpoints.length;
  }

  #prefer(endpoint: string): void {
    let index = this.#endpoints.indexOf(endpoint);
    if (index < 0) {
      this.#endpoints.push(endpoint);
      index = this.#endpoints.length - 1;
    }
    this.#preferred = index;
  }

  /** Learns the members' addresses and the leader from the first member that answers Status. */
  async #discover(signal: AbortSignal | undefined): Promise<void> {
    if (this.#discovered) return;
    for (let i = 0; i < this.#endpoints.length; i++) {
      const endpoint = this.#endpoints[(this.#preferred + i) % this.#endpoints.length]!;
      try {
        const status = await this.memberStatus(endpoint, signal ? { signal } : {});
        this.#learn(status);
        return;
      } catch {
        // try the next one
      }
    }
  }

  #learn(status: MemberStatus): void {
    this.#discovered = true;
    this.#addresses.set(status.id, status.endpoint);
    for (const member of status.members) {
      if (member.address === '' || member.learner) continue;
      this.#addresses.set(member.id, member.address);
      if (!this.#endpoints.includes(member.address)) this.#endpoints.push(member.address);
    }
    const leader = status.leaderId === undefined ? undefined : this.#addresses.get(status.leaderId);
    if (leader !== undefined) this.#prefer(leader);
  }

  /** Notes the leader a response header names, to go there next time. */
  #noteHeader(header: kvV1.ResponseHeader | undefined, endpoint: string): void {
    if (header === undefined) return;
    if (header.memberId !== '') this.#addresses.set(header.memberId, endpoint);
    if (header.leaderHint !== '' && header.leaderHint !== header.memberId) {
      const leader = this.#addresses.get(header.leaderHint);
      if (leader !== undefined) this.#prefer(leader);
    }
  }

  /** A unary KV attempt against one endpoint, by method name. */
  #unary<Req, Res extends { header?: kvV1.ResponseHeader | undefined }>(
    method: 'put' | 'get' | 'delete' | 'compareAndSwap',
    request: Req,
  ): (endpoint: string, deadline: number, signal: AbortSignal | undefined) => Promise<Res> {
    return async (endpoint, deadline, signal) => {
      const response = await this.#call<Res>(endpoint, deadline, signal, (stubs, callOptions, done) => {
        const kv = stubs.kv as unknown as Record<string, (r: Req, m: grpc.Metadata, o: grpc.CallOptions, cb: grpc.requestCallback<Res>) => grpc.ClientUnaryCall>;
        return kv[method]!.call(stubs.kv, request, new grpc.Metadata(), callOptions, done);
      });
      this.#noteHeader(response.header, endpoint);
      return response;
    };
  }

  /** One attempt: a unary call with a deadline and an abort signal. */
  #call<Res>(
    endpoint: string,
    deadline: number,
    signal: AbortSignal | undefined,
    start: (stubs: Stubs, options: grpc.CallOptions, done: grpc.requestCallback<Res>) => grpc.ClientUnaryCall,
  ): Promise<Res> {
    this.#ensureOpen();
    return new Promise<Res>((resolve, reject) => {
      const call = start(this.#stubsFor(endpoint), { deadline }, (error, response) => {
        signal?.removeEventListener('abort', onAbort);
        if (error !== null || response === undefined) reject(error ?? new Error('empty response'));
        else resolve(response);
      });
      const onAbort = (): void => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A write with a session of its own for all its attempts. */
  async #write<Res>(options: CallOptions, attempt: (session: kvV1.Session) => (endpoint: string, deadline: number, signal: AbortSignal | undefined) => Promise<Res>): Promise<Res> {
    const session = this.#freeSessions.pop() ?? { clientId: `${this.#clientId}/${this.#sessionCount++}`, next: 1 };
    const sequence = session.next++;
    let settled = false;
    try {
      const result = await this.#retrying(options, attempt({ clientId: session.clientId, sequence: BigInt(sequence) }));
      settled = true;
      return result;
    } catch (error) {
      // A definite refusal (bad argument, say) leaves the session usable; an
      // unknown outcome (deadline, abort) may still apply later, so that
      // session is retired rather than risk its next sequence overtaking it.
      settled = error instanceof SynodRpcError && !isRetryable({ grpcCode: error.grpcCode, reason: error.reason } as CallFailure) && error.reason !== 'SESSION_EXPIRED';
      throw error;
    } finally {
      if (settled) this.#freeSessions.push(session);
    }
  }

  /** Runs attempts on the preferred member, following hints and backing off, until success, a final error, the deadline or the signal. */
  async #retrying<Res>(options: CallOptions, attempt: (endpoint: string, deadline: number, signal: AbortSignal | undefined) => Promise<Res>): Promise<Res> {
    this.#ensureOpen();
    const signal = options.signal;
    if (signal?.aborted) throw new AbortError();
    const deadline = Date.now() + (options.timeoutMs ?? this.#timeoutMs);
    if (!this.#discovered) await this.#discover(signal);
    let last: CallFailure | undefined;
    for (let tries = 0; ; tries++) {
      const endpoint = this.preferredEndpoint;
      const attemptDeadline = Math.min(deadline, Date.now() + this.#attemptTimeoutMs);
      try {
        return await attempt(endpoint, attemptDeadline, signal);
      } catch (error) {
        if (signal?.aborted) throw new AbortError('call aborted; its outcome is unknown', { cause: error });
        last = callFailure(error);
        if (!isRetryable(last)) throw this.#typed(last);
        this.#follow(last, endpoint);
      }
      const pause = this.#delay(tries);
      if (Date.now() + pause >= deadline) {
        throw new TimeoutError(`no answer within the deadline; last failure: ${last.reason}: ${last.message}`, { cause: this.#typed(last) });
      }
      await this.#sleep(pause, signal);
    }
  }
}
