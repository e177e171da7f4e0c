import { randomUUID } from 'node:crypto';
import { connect, errors, headers as natsHeaders, type Msg, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { AbortError, InvalidArgumentError, TimeoutError } from '@synod/core';
import {
  backoffDelay,
  casConditionOf,
  clusterV1,
  isRetryable,
  keyValueOf,
  kvV1,
  memberStatusOf,
  revisionOf,
  SessionPool,
  SynodRpcError,
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
} from '@synod/protocol';
import { replyFailure, TIMEOUT_HEADER } from '../api/replies.js';
import { DEFAULT_WATCH_HEARTBEAT_MS, DEFAULT_WATCH_WINDOW, WATCH_HEADERS } from '../api/watch-protocol.js';
import { authenticator, type NatsAuth, type NatsTlsOptions } from '../options.js';
import { apiSubject, assertSubjectToken, type ApiMethod } from '../subjects.js';
import { WatchStream } from './watch-stream.js';

/** Options of {@link SynodNatsClient}. */
export interface SynodNatsClientOptions {
  /** NATS server URLs; the client opens and owns its connection. Exactly one of `servers` and `connection`. */
  readonly servers?: string | readonly string[];
  /** A connection to share; the caller closes it. */
  readonly connection?: NatsConnection;
  /** The cluster's id, as its nodes were started with. @default 'synod' */
  readonly clusterId?: string;
  /** Credentials, with `servers`. */
  readonly auth?: NatsAuth;
  /** TLS, with `servers`. */
  readonly tls?: NatsTlsOptions;
  /** How long the first connection may take, in ms. @default 5000 */
  readonly connectTimeoutMs?: number;
  /** Prefix of this client's session ids; unique per client. @default a random UUID */
  readonly clientId?: string;
  /** Deadline of a call, retries included, when the call gives none, in ms. @default 10000 */
  readonly timeoutMs?: number;
  /** Deadline of one attempt, in ms. @default 3000 */
  readonly attemptTimeoutMs?: number;
  /** Delays between attempts: uniform in [0, min(maxMs, initialMs × 2^attempt)). @default { initialMs: 50, maxMs: 1000 } */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Uniform random numbers in [0, 1) for the jitter. @default Math.random */
  readonly random?: () => number;
  /** The connection's name in the server's monitoring. @default `synod-client-<clusterId>` */
  readonly name?: string;
  /** A member believed to lead: KV calls go to its subject from the first one (until it fails to answer). @default the queue group */
  readonly leaderHint?: string;
  /** Watch flow control: events a member may have in flight before this client acknowledges them. @default 256 */
  readonly watchWindow?: number;
  /** Watch heartbeats, in ms; three missed ones make the watch resume on another member. @default 1000 */
  readonly watchHeartbeatMs?: number;
}

const RPC = { UNAVAILABLE: 14, DEADLINE_EXCEEDED: 4, PERMISSION_DENIED: 7, UNAUTHENTICATED: 16, CANCELLED: 1 } as const;

interface Codec<T> {
  decode(input: Uint8Array): T;
  encode(message: T): { finish(): Uint8Array };
}

/**
 * A TypeScript client of a Synod cluster over NATS request/reply: the same
 * operations, results and errors (`SynodRpcError` with the server's typed
 * reason and gRPC's status numbering) as `SynodClient` over gRPC.
 *
 * - **Routing.** A request goes to `synod-api.<cluster>.<Service>.<Method>`,
 *   which one node of the cluster's queue group answers (forwarding writes to
 *   the leader through Raft). Once an answer names the leader, requests go
 *   to the leader's own subject and spare the forwarding hop; when it stops
 *   answering, back to the queue group.
 * - **Retries** of UNAVAILABLE (no responders, no leader), an attempt's
 *   timeout and BUSY, with capped exponential backoff and full jitter, until
 *   the call's deadline or its `signal`.
 * - **Exactly-once writes**: every write carries a session of its own,
 *   repeated on retries.
 * - **watch()** is an async iterator, as over gRPC: events in revision
 *   order, flow-controlled by the consumer, resumed on another member from
 *   the revision after the last event delivered when the stream breaks (the
 *   member stopped or fell silent, messages were lost while the NATS server
 *   restarted).
 * - **Errors of NATS itself** are typed too: `NATS_AUTHORIZATION` (the
 *   server refused the credentials; its URL is in the message),
 *   `NATS_CONNECT`, `NATS_NO_RESPONDERS`, `NATS_TIMEOUT`,
 *   `NATS_PERMISSION_VIOLATION`.
 *
 * @example
 * ```ts
 * const client = new SynodNatsClient({ servers: 'nats://127.0.0.1:4222', clusterId: 'prod' });
 * await client.put('greeting', 'hello');
 * const { kv } = await client.get('greeting'); // kv.value === 'hello'
 * await client.close();
 * ```
 */
export class SynodNatsClient implements SynodKvClient {
  readonly clusterId: string;
  readonly #options: SynodNatsClientOptions;
  readonly #servers: readonly string[];
  readonly #connectOptions: NodeConnectionOptions | undefined;
  readonly #timeoutMs: number;
  readonly #attemptTimeoutMs: number;
  readonly #backoffInitialMs: number;
  readonly #backoffMaxMs: number;
  readonly #random: () => number;
  readonly #sessions: SessionPool;
  #connecting: Promise<NatsConnection> | undefined;
  #leader: string | undefined;
  #closed = false;

  constructor(options: SynodNatsClientOptions) {
    if ((options.servers === undefined) === (options.connection === undefined)) {
      throw new InvalidArgumentError('give exactly one of servers (the client connects) and connection (a NatsConnection to share)');
    }
    this.#options = options;
    this.clusterId = options.clusterId ?? 'synod';
    assertSubjectToken('clusterId', this.clusterId);
    this.#servers = options.servers === undefined ? [] : typeof options.servers === 'string' ? [options.servers] : [...options.servers];
    if (options.connection === undefined) {
      if (this.#servers.length === 0 || this.#servers.some((s) => typeof s !== 'string' || s === '')) {
        throw new InvalidArgumentError('servers must name at least one NATS server URL');
      }
      this.#connectOptions = {
        servers: [...this.#servers],
        name: options.name ?? `synod-client-${this.clusterId}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        reconnectJitter: 250,
        timeout: options.connectTimeoutMs ?? 5_000,
        ...(options.auth === undefined ? {} : { authenticator: authenticator(options.auth) }),
        ...(options.tls === undefined ? {} : { tls: { ...options.tls } }),
      };
    } else if (options.auth !== undefined || options.tls !== undefined) {
      throw new InvalidArgumentError('auth and tls configure a connection of the client\'s own; with connection, set them where it is made');
    }
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#attemptTimeoutMs = options.attemptTimeoutMs ?? 3_000;
    this.#backoffInitialMs = options.backoff?.initialMs ?? 50;
    this.#backoffMaxMs = options.backoff?.maxMs ?? 1_000;
    this.#random = options.random ?? Math.random;
    this.#sessions = new SessionPool(options.clientId ?? randomUUID());
    if (options.leaderHint !== undefined) assertSubjectToken('leaderHint', options.leaderHint);
    this.#leader = options.leaderHint;
  }

  /** The member requests go to first, once a reply named the leader; undefined means the queue group. */
  get preferredMember(): string | undefined {
    return this.#leader;
  }

  /** Stores `value` at `key`, exactly once. */
  async put(key: string, value: string | Uint8Array, options: CallOptions = {}): Promise<PutResult> {
    const bytes = Buffer.from(typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
    const response = await this.#sessions.run((session) => this.#retrying(options, 'KV.Put', kvV1.PutRequest, kvV1.PutResponse, { key, value: bytes, session }));
    return { revision: revisionOf(response.header), prevKv: keyValueOf(response.prevKv) };
  }

  /** Reads `key`; linearizable unless `consistency` says otherwise. */
  async get(key: string, options: GetOptions = {}): Promise<GetResult> {
    const consistency = {
      linearizable: kvV1.Consistency.CONSISTENCY_LINEARIZABLE,
      lease: kvV1.Consistency.CONSISTENCY_LEASE,
      serializable: kvV1.Consistency.CONSISTENCY_SERIALIZABLE,
    }[options.consistency ?? 'linearizable'];
    if (consistency === undefined) throw new InvalidArgumentError(`unknown consistency '${String(options.consistency)}'`);
    const response = await this.#retrying(options, 'KV.Get', kvV1.GetRequest, kvV1.GetResponse, { key, consistency });
    return { revision: revisionOf(response.header), kv: keyValueOf(response.kv) };
  }

  /** Removes `key`, exactly once. */
  async delete(key: string, options: CallOptions = {}): Promise<DeleteResult> {
    const response = await this.#sessions.run((session) => this.#retrying(options, 'KV.Delete', kvV1.DeleteRequest, kvV1.DeleteResponse, { key, session }));
    return { revision: revisionOf(response.header), deleted: response.deleted, prevKv: keyValueOf(response.prevKv) };
  }

  /** Sets `key` to `value` when `expected` holds, exactly once. */
  async compareAndSwap(key: string, expected: CasExpectation, value: string | Uint8Array, options: CallOptions = {}): Promise<CasResult> {
    const condition = casConditionOf(expected);
    if (condition === undefined) throw new InvalidArgumentError('expected must be { value }, { absent: true } or { modRevision }');
    const newValue = Buffer.from(typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
    const response = await this.#sessions.run((session) =>
      this.#retrying(options, 'KV.CompareAndSwap', kvV1.CompareAndSwapRequest, kvV1.CompareAndSwapResponse, { key, expected: condition, newValue, session }),
    );
    return { revision: revisionOf(response.header), succeeded: response.succeeded, kv: keyValueOf(response.kv) };
  }

  /**
   * Streams the changes of `key` (or of every key under it with `prefix`)
   * from `startRevision`, like `SynodClient.watch`. When the stream breaks
   * it reopens, through the queue group, from the revision after the last
   * event delivered, with backoff. Throws `SynodRpcError` with reason
   * `WATCH_COMPACTED` when that revision has left the history; returns when
   * `signal` fires or the consumer stops iterating.
   *
   * @example
   * ```ts
   * const stop = new AbortController();
   * for await (const event of client.watch('config/', { prefix: true, signal: stop.signal })) {
   *   console.log(event.type, event.kv.key, event.revision);
   * }
   * ```
   */
  async *watch(key: string, options: WatchOptions = {}): AsyncGenerator<WatchEvent, void, undefined> {
    if (this.#closed) throw new InvalidArgumentError('the client is closed');
    const signal = options.signal;
    let next = options.startRevision;
    if (next === undefined) {
      // "From now" must survive a resume too, so pin it to a revision.
      next = (await this.get(key, { consistency: 'serializable', ...(signal ? { signal } : {}) })).revision + 1;
    }
    const settings = {
      clusterId: this.clusterId,
      window: this.#options.watchWindow ?? DEFAULT_WATCH_WINDOW,
      heartbeatMs: this.#options.watchHeartbeatMs ?? DEFAULT_WATCH_HEARTBEAT_MS,
    };
    let failures = 0;
    for (;;) {
      if (signal?.aborted || this.#closed) return;
      let nc: NatsConnection;
      try {
        nc = await this.#connection();
      } catch (error) {
        // No server reachable yet: keep trying, as after any break.
        if (!(error instanceof SynodRpcError) || error.reason !== 'NATS_CONNECT') throw error;
        await sleep(backoffDelay(failures++, this.#backoffInitialMs, this.#backoffMaxMs, this.#random), signal).catch(() => undefined);
        continue;
      }
      const stream = new WatchStream(nc, settings);
      const onAbort = (): void => stream.close();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const subject = apiSubject(this.clusterId, 'KV.Watch');
        let reply: Msg;
        try {
          const request = kvV1.WatchRequest.encode({ key, prefix: options.prefix === true, startRevision: BigInt(next) }).finish();
          reply = await nc.request(subject, request, { timeout: this.#attemptTimeoutMs, headers: stream.requestHeaders() });
        } catch (error) {
          throw this.#requestFailure(error, subject, nc);
        }
        const refused = replyFailure(reply.headers, reply.data);
        if (refused !== undefined) throw new SynodRpcError(refused.grpcCode, refused.reason, refused.message, refused.leaderId);
        stream.opened(reply.headers?.get(WATCH_HEADERS.member) ?? '');
        for (;;) {
          const item = await stream.next();
          if (item === undefined) return;
          if ('revision' in item) {
            failures = 0;
            next = item.revision + 1;
            yield item;
            continue;
          }
          if (item.kind === 'failure') throw item.error;
          break; // messages lost or the member silent: resume
        }
      } catch (error) {
        if (signal?.aborted || this.#closed) return;
        if (!(error instanceof SynodRpcError) || (!isRetryable(error) && error.reason !== 'NATS_CONNECT')) throw error;
      } finally {
        signal?.removeEventListener('abort', onAbort);
        stream.close();
      }
      await sleep(backoffDelay(failures++, this.#backoffInitialMs, this.#backoffMaxMs, this.#random), signal).catch(() => undefined);
    }
  }

  /** Cluster/Status of member `id` (or of whichever node answers, without an id), without retries. */
  async memberStatus(id?: string, options: MemberStatusOptions = {}): Promise<MemberStatus> {
    const deadline = Date.now() + (options.timeoutMs ?? this.#attemptTimeoutMs);
    const includeStateHash = options.includeStateHash === true;
    const response = await this.#attempt('Cluster.Status', clusterV1.StatusRequest, clusterV1.StatusResponse, { includeStateHash }, id, deadline, options.signal);
    return memberStatusOf(response.memberId, response, includeStateHash);
  }

  /**
   * Adds member `id` as a voter, or a learner with `learner: true`; see
   * `SynodKvClient.addMember`. Over NATS members are reached by id, so
   * `address` is only recorded (it may be empty).
   *
   * @example
   * ```ts
   * await client.addMember('n4', ''); // n4 runs `synod serve --transport nats --join …`
   * ```
   */
  async addMember(id: string, address: string, options: AddMemberOptions = {}): Promise<ClusterMember[]> {
    const response = await this.#retrying(options, 'Cluster.AddMember', clusterV1.AddMemberRequest, clusterV1.AddMemberResponse, {
      member: { id, address, learner: options.learner === true },
    });
    return clusterMembersOf(response.members);
  }

  /** Removes member `id` through the leader; resolves with the members after the change. */
  async removeMember(id: string, options: CallOptions = {}): Promise<ClusterMember[]> {
    const response = await this.#retrying(options, 'Cluster.RemoveMember', clusterV1.RemoveMemberRequest, clusterV1.RemoveMemberResponse, { id });
    return clusterMembersOf(response.members);
  }

  /**
   * Cluster/TransferLeadership sent to member `id` (the leader: a follower
   * answers NOT_LEADER with the hint), without retries. Resolves with the
   * new leader's id once `targetId` leads.
   *
   * @example
   * ```ts
   * const leader = await client.transferLeadership('n1', 'n2');
   * ```
   */
  async transferLeadership(id: string, targetId: string, options: CallOptions = {}): Promise<string> {
    const deadline = Date.now() + (options.timeoutMs ?? this.#attemptTimeoutMs);
    const response = await this.#attempt('Cluster.TransferLeadership', clusterV1.TransferLeadershipRequest, clusterV1.TransferLeadershipResponse, { targetId }, id, deadline, options.signal);
    return response.leaderId;
  }

  /**
   * Cluster/SetLinkFaults sent to member `id`, without retries: replaces the
   * faults it injects on its links (demos and tests only; a member started
   * without `--fault-hooks` refuses with FAILED_PRECONDITION). Resolves with
   * the faults now in effect.
   *
   * @example
   * ```ts
   * await client.setLinkFaults('n1', [{ peerId: 'n2', drop: true, delayMs: 0 }]);
   * ```
   */
  async setLinkFaults(id: string, faults: readonly LinkFault[], options: CallOptions = {}): Promise<LinkFault[]> {
    const deadline = Date.now() + (options.timeoutMs ?? this.#attemptTimeoutMs);
    const response = await this.#attempt('Cluster.SetLinkFaults', clusterV1.SetLinkFaultsRequest, clusterV1.SetLinkFaultsResponse, { faults: [...faults] }, id, deadline, options.signal);
    return response.faults;
  }

  /** Status of every member the first answer lists; a member that does not answer gets the failure instead. */
  async status(options: CallOptions = {}): Promise<(MemberStatus | { readonly endpoint: string; readonly error: SynodRpcError })[]> {
    let first: MemberStatus;
    try {
      first = await this.#retrying(options, 'Cluster.Status', clusterV1.StatusRequest, clusterV1.StatusResponse, { includeStateHash: false }).then((r) => memberStatusOf(r.memberId, r));
    } catch (error) {
      const typed = error instanceof SynodRpcError ? error : error instanceof TimeoutError && error.cause instanceof SynodRpcError ? error.cause : undefined;
      if (typed === undefined) throw error;
      return [{ endpoint: this.#servers.join(',') || 'nats', error: typed }];
    }
    const others = first.members.filter((member) => member.id !== first.id);
    const answers = await Promise.all(
      others.map((member) =>
        this.memberStatus(member.id, options).catch((error: unknown) => ({
          endpoint: member.id,
          error: error instanceof SynodRpcError ? error : new SynodRpcError(RPC.UNAVAILABLE, 'NATS_REQUEST', String(error)),
        })),
      ),
    );
    return [first, ...answers].sort((a, b) => a.endpoint.localeCompare(b.endpoint));
  }

  /** Closes the client's own connection (a shared one stays open). Calls in flight fail; later calls throw. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const connecting = this.#connecting;
    if (connecting !== undefined && this.#options.connection === undefined) {
      await connecting.then((nc) => nc.close()).catch(() => undefined);
    }
  }

  // ---- internals ----

  #connection(): Promise<NatsConnection> {
    if (this.#closed) return Promise.reject(new InvalidArgumentError('the client is closed'));
    if (this.#options.connection !== undefined) return Promise.resolve(this.#options.connection);
    this.#connecting ??= connect(this.#connectOptions).catch((error: unknown) => {
      this.#connecting = undefined;
      throw this.#connectFailure(error);
    });
    return this.#connecting;
  }

  #connectFailure(error: unknown): SynodRpcError {
    const servers = this.#servers.join(', ');
    const detail = error instanceof Error ? error.message : String(error);
    if (error instanceof errors.AuthorizationError || /authoriz|authentic/i.test(detail)) {
      return new SynodRpcError(RPC.UNAUTHENTICATED, 'NATS_AUTHORIZATION', `the NATS server at ${servers} refused the credentials: ${detail}`, undefined, { cause: error });
    }
    return new SynodRpcError(RPC.UNAVAILABLE, 'NATS_CONNECT', `cannot connect to the NATS server at ${servers}: ${detail}`, undefined, { cause: error });
  }

  /** One request to member `member` (or the queue group) with a deadline. */
  async #attempt<Req, Res>(
    method: ApiMethod,
    request: Codec<Req>,
    response: Codec<Res>,
    message: Req,
    member: string | undefined,
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<Res> {
    const nc = await this.#connection();
    const timeout = Math.max(1, deadline - Date.now());
    const h = natsHeaders();
    h.set(TIMEOUT_HEADER, String(timeout));
    const subject = apiSubject(this.clusterId, method, member);
    let reply: Msg;
    try {
      const pending = nc.request(subject, request.encode(message).finish(), { timeout, headers: h });
      reply = signal === undefined ? await pending : await abortable(pending, signal);
    } catch (error) {
      throw this.#requestFailure(error, subject, nc);
    }
    const failure = replyFailure(reply.headers, reply.data);
    if (failure !== undefined) throw new SynodRpcError(failure.grpcCode, failure.reason, failure.message, failure.leaderId);
    let decoded: Res;
    try {
      decoded = response.decode(reply.data);
    } catch (error) {
      throw new SynodRpcError(13, 'MALFORMED_REPLY', `a malformed reply on ${subject}: ${error instanceof Error ? error.message : String(error)}`);
    }
    return decoded;
  }

  #requestFailure(error: unknown, subject: string, nc: NatsConnection): Error {
    if (error instanceof AbortError || error instanceof SynodRpcError) return error;
    const server = nc.getServer();
    const noResponders = (error instanceof errors.RequestError && error.isNoResponders()) || error instanceof errors.NoRespondersError;
    if (noResponders) {
      return new SynodRpcError(RPC.UNAVAILABLE, 'NATS_NO_RESPONDERS', `no Synod node of cluster '${this.clusterId}' serves ${subject} on the NATS server at ${server}`, undefined, { cause: error });
    }
    if (error instanceof errors.TimeoutError || (error instanceof errors.RequestError && error.cause instanceof errors.TimeoutError)) {
      return new SynodRpcError(RPC.DEADLINE_EXCEEDED, 'NATS_TIMEOUT', `no reply on ${subject} in time (NATS server ${server})`, undefined, { cause: error });
    }
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    if (cause instanceof errors.PermissionViolationError) {
      return new SynodRpcError(RPC.PERMISSION_DENIED, 'NATS_PERMISSION_VIOLATION', `the NATS server at ${server} refused this client ${cause.operation} on ${cause.subject}`, undefined, { cause: error });
    }
    const detail = error instanceof Error ? error.message : String(error);
    return new SynodRpcError(RPC.UNAVAILABLE, 'NATS_REQUEST', `request on ${subject} failed (NATS server ${server}): ${detail}`, undefined, { cause: error });
  }

  /** Notes the leader a response names, to ask it directly next time. */
  #noteLeader(response: unknown): void {
    const header = (response as { header?: kvV1.ResponseHeader }).header;
    const leaderId = header?.leaderHint ?? (response as { leaderId?: string }).leaderId;
    if (leaderId !== undefined) this.#leader = leaderId === '' ? undefined : leaderId;
  }

  /** Attempts until success, a final error, the deadline or the signal. */
  async #retrying<Req, Res>(options: CallOptions, method: ApiMethod, request: Codec<Req>, response: Codec<Res>, message: Req): Promise<Res> {
    if (this.#closed) throw new InvalidArgumentError('the client is closed');
    const signal = options.signal;
    if (signal?.aborted) throw new AbortError();
    const deadline = Date.now() + (options.timeoutMs ?? this.#timeoutMs);
    let last: SynodRpcError | undefined;
    for (let tries = 0; ; tries++) {
      // Status asks whichever member answers; everything else is the leader's to do.
      const member = method === 'Cluster.Status' ? undefined : this.#leader;
      try {
        const result = await this.#attempt(method, request, response, message, member, Math.min(deadline, Date.now() + this.#attemptTimeoutMs), signal);
        this.#noteLeader(result);
        return result;
      } catch (error) {
        if (signal?.aborted) throw new AbortError('call aborted; its outcome is unknown', { cause: error });
        if (!(error instanceof SynodRpcError)) throw error;
        last = error;
        if (!isRetryable(error) && error.reason !== 'NATS_CONNECT') throw error;
        // Follow the hint; without one (or when the leader we asked is silent) let the queue group pick.
        this.#leader = error.leaderId !== undefined && error.leaderId !== member ? error.leaderId : undefined;
      }
      const pause = backoffDelay(tries, this.#backoffInitialMs, this.#backoffMaxMs, this.#random);
      if (Date.now() + pause >= deadline) {
        throw new TimeoutError(`no answer within the deadline; last failure: ${last.reason}: ${last.message}`, { cause: last });
      }
      await sleep(pause, signal);
    }
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(new AbortError());
    const onAbort = (): void => reject(new AbortError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
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
