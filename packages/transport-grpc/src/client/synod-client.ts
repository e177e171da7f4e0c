import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { AbortError, InvalidArgumentError, TimeoutError } from '@synod/core';
import {
  backoffDelay,
  casConditionOf,
  clusterV1,
  keyValueOf as keyValue,
  kvV1,
  memberStatusOf,
  revisionOf,
  SessionPool,
  type CallOptions,
  type CasExpectation,
  type CasResult,
  type DeleteResult,
  type GetOptions,
  type GetResult,
  type MemberStatus,
  type MemberStatusOptions,
  type PutResult,
  type SynodKvClient,
  clusterMembersOf,
  type AddMemberOptions,
  type ClusterMember,
  type LinkFault,
  type WatchEvent,
  type WatchOptions,
  watchEventOf,
} from '@synod/protocol';
import { createChannelCredentials, type ClientSecurity, type GrpcSecurity } from '../security.js';
import { callFailure, isRetryable, SynodRpcError, type CallFailure } from './client-errors.js';

export type { CallOptions, CasExpectation, CasResult, DeleteResult, GetOptions, GetResult, MemberStatus, MemberStatusOptions, PutResult, WatchEvent, WatchOptions } from '@synod/protocol';

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

/**
 * A call interceptor that hands over a unary call's response as soon as its
 * message arrives, before the status that follows it.
 *
 * A Synod server sends a response message only for a call that succeeded,
 * and its status (OK) after it. Node's HTTP/2 sends that status (the
 * trailers) only once the message has been written, in a second write one
 * turn of the server's event loop later, so waiting for it costs the client
 * a second wake-up on every call. A complete message already says the call
 * succeeded: failures are answered with a status alone. The status still
 * arrives and ends the call; it is ignored.
 */
function settleOnMessage<Res>(onMessage: (message: Res) => void): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, _listener, next) {
        next(metadata, {
          onReceiveMessage(message: Res | null | undefined, nextMessage: (message: Res | null | undefined) => void) {
            nextMessage(message);
            // grpc-js passes no message (null) down this path for a call that failed.
            if (message !== null && message !== undefined) onMessage(message);
          },
        });
      },
    });
}

interface Stubs {
  readonly kv: kvV1.KVClient;
  readonly cluster: clusterV1.ClusterClient;
}

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
export class SynodClient implements SynodKvClient {
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
  readonly #sessions: SessionPool;
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
    this.#sessions = new SessionPool(this.#clientId);
    this.#channelOptions = {
      // Come back quickly to a member that restarts.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1_000,
      // The client retries by itself (following leader hints, with its
      // sessions); grpc-js's own retries would only buffer every message.
      'grpc.enable_retries': 0,
      // No channelz bookkeeping (timestamps and counters) on every call.
      'grpc.enable_channelz': 0,
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
    const condition = casConditionOf(expected);
    if (condition === undefined) throw new InvalidArgumentError('expected must be { value }, { absent: true } or { modRevision }');
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
    return memberStatusOf(endpoint, response, includeStateHash);
  }

  /**
   * Adds member `id` at `address` (`host:port`, where it listens) as a voter,
   * or a learner with `learner: true`; see {@link SynodKvClient.addMember}.
   *
   * @example
   * ```ts
   * await client.addMember('n4', '10.0.0.4:7000'); // n4 runs `synod serve --join …`
   * ```
   */
  async addMember(id: string, address: string, options: AddMemberOptions = {}): Promise<ClusterMember[]> {
    const request: clusterV1.AddMemberRequest = { member: { id, address, learner: options.learner === true } };
    const response = await this.#retrying(options, (endpoint, deadline, signal) =>
      this.#call<clusterV1.AddMemberResponse>(endpoint, deadline, signal, (stubs, callOptions, done) =>
        stubs.cluster.addMember(request, new grpc.Metadata(), callOptions, done),
      ),
    );
    return clusterMembersOf(response.members);
  }

  /** Removes member `id` through the leader; resolves with the members after the change. */
  async removeMember(id: string, options: CallOptions = {}): Promise<ClusterMember[]> {
    const response = await this.#retrying(options, (endpoint, deadline, signal) =>
      this.#call<clusterV1.RemoveMemberResponse>(endpoint, deadline, signal, (stubs, callOptions, done) =>
        stubs.cluster.removeMember({ id }, new grpc.Metadata(), callOptions, done),
      ),
    );
    return clusterMembersOf(response.members);
  }

  /**
   * Cluster/TransferLeadership sent to the member at `endpoint` (the leader:
   * a follower answers NOT_LEADER with the hint), without retries. Resolves
   * with the new leader's id once `targetId` leads; fails with SynodRpcError.
   *
   * @example
   * ```ts
   * const leader = await client.transferLeadership('127.0.0.1:7001', 'n2');
   * ```
   */
  async transferLeadership(endpoint: string, targetId: string, options: CallOptions = {}): Promise<string> {
    const deadline = Date.now() + (options.timeoutMs ?? this.#attemptTimeoutMs);
    const response = await this.#call<clusterV1.TransferLeadershipResponse>(endpoint, deadline, options.signal, (stubs, callOptions, done) =>
      stubs.cluster.transferLeadership({ targetId }, new grpc.Metadata(), callOptions, done),
    ).catch((error: unknown) => {
      // Typed like every other failure: a follower's NOT_LEADER (with the hint), NOT_VOTER, a timeout.
      throw this.#typed(callFailure(error));
    });
    return response.leaderId;
  }

  /**
   * Cluster/SetLinkFaults sent to the member at `endpoint`, without retries:
   * replaces the faults it injects on its links (demos and tests only; a
   * member started without `--fault-hooks` refuses with FAILED_PRECONDITION).
   * Resolves with the faults now in effect.
   *
   * @example
   * ```ts
   * await client.setLinkFaults('127.0.0.1:7001', [{ peerId: 'n2', drop: true, delayMs: 0 }]);
   * await client.setLinkFaults('127.0.0.1:7001', []); // heal
   * ```
   */
  async setLinkFaults(endpoint: string, faults: readonly LinkFault[], options: CallOptions = {}): Promise<LinkFault[]> {
    const deadline = Date.now() + (options.timeoutMs ?? this.#attemptTimeoutMs);
    const response = await this.#call<clusterV1.SetLinkFaultsResponse>(endpoint, deadline, options.signal, (stubs, callOptions, done) =>
      stubs.cluster.setLinkFaults({ faults: [...faults] }, new grpc.Metadata(), callOptions, done),
    ).catch((error: unknown) => {
      throw this.#typed(callFailure(error));
    });
    return response.faults;
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
          const event = watchEventOf(message);
          next = event.revision + 1;
          yield event;
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
    return backoffDelay(attempt, this.#backoffInitialMs, this.#backoffMaxMs, this.#random);
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
      let settled = false;
      const settle = (error: unknown, response: Res | undefined): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (error !== null || response === undefined || response === null) reject(error ?? new Error('empty response'));
        else resolve(response);
      };
      const options: grpc.CallOptions = { deadline, interceptors: [settleOnMessage((message: Res) => settle(null, message))] };
      const call = start(this.#stubsFor(endpoint), options, (error, response) => settle(error, response));
      const onAbort = (): void => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A write with a session of its own for all its attempts. */
  async #write<Res>(options: CallOptions, attempt: (session: kvV1.Session) => (endpoint: string, deadline: number, signal: AbortSignal | undefined) => Promise<Res>): Promise<Res> {
    return this.#sessions.run((session) => this.#retrying(options, attempt(session)));
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
        const failure = callFailure(error);
        if (!isRetryable(failure)) throw this.#typed(failure);
        // An attempt cut short by the call's own deadline tells nothing about the cluster:
        // the TimeoutError names the failure before it, when there was one.
        const cutByCallDeadline = failure.grpcCode === grpc.status.DEADLINE_EXCEEDED && attemptDeadline === deadline;
        last = cutByCallDeadline && last !== undefined ? last : failure;
        this.#follow(failure, endpoint);
      }
      const pause = this.#delay(tries);
      if (Date.now() + pause >= deadline) {
        throw new TimeoutError(`no answer within the deadline; last failure: ${last.reason}: ${last.message}`, { cause: this.#typed(last) });
      }
      await this.#sleep(pause, signal);
    }
  }
}
