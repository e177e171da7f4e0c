import type * as grpc from '@grpc/grpc-js';
import {
  InvalidArgumentError,
  encodeKvCommand,
  type KeyValue,
  type KvCasCondition,
  type KvCommand,
  type KvEvent,
  type KvQuery,
  type KvQueryResult,
  type KvResult,
  type KvSession,
  type KvStateMachine,
  type Logger,
  type RaftNode,
  type ReadConsistency,
} from '@synod/core';
import { kvV1 } from '@synod/protocol';
import { ServiceCallError, SessionExpiredError, StaleSequenceError, toServiceError, type LeaderView } from './errors.js';
import { isMalformed, MALFORMED, type MalformedRequest } from './tolerant-service.js';
import { callWait, type CallWait } from './call-wait.js';

/** The RaftNode type the server runs: the KV state machine's results and queries. */
export type KvRaftNode = RaftNode<KvResult, KvQuery, KvQueryResult>;

/** What the KV handlers need from the server around them. */
export interface KvServiceContext {
  readonly node: KvRaftNode;
  readonly store: KvStateMachine;
  readonly logger: Logger;
  /** Longest a call waits for consensus when the client set no earlier deadline, in ms. */
  readonly defaultTimeoutMs: number;
  /** Bytes of watch events a slow watcher may leave buffered before its stream ends. */
  readonly maxWatchBufferBytes: number;
  leaderView(): LeaderView;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The store holds strings, so values on the wire must be UTF-8 text. */
function textOf(bytes: Uint8Array, field: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new InvalidArgumentError(`${field} must be UTF-8 text (the KV store holds strings)`);
  }
}

function sessionOf(session: kvV1.Session | undefined): KvSession | undefined {
  if (session === undefined) return undefined;
  if (session.clientId === '') throw new InvalidArgumentError('session.client_id must not be empty');
  if (session.sequence < 1n || session.sequence > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new InvalidArgumentError(`session.sequence must be between 1 and 2^53-1, got ${session.sequence}`);
  }
  return { clientId: session.clientId, sequence: Number(session.sequence) };
}

function wireKv(kv: KeyValue | undefined): kvV1.KeyValue | undefined {
  if (kv === undefined) return undefined;
  return {
    key: kv.key,
    value: Buffer.from(kv.value, 'utf8'),
    createRevision: BigInt(kv.createRevision),
    modRevision: BigInt(kv.modRevision),
    version: BigInt(kv.version),
  };
}

function consistencyOf(consistency: kvV1.Consistency): ReadConsistency {
  switch (consistency) {
    case kvV1.Consistency.CONSISTENCY_SERIALIZABLE:
      return 'serializable';
    case kvV1.Consistency.CONSISTENCY_LEASE:
      return 'lease';
    case kvV1.Consistency.CONSISTENCY_LINEARIZABLE:
    case kvV1.Consistency.CONSISTENCY_UNSPECIFIED:
      return 'linearizable';
    default:
      throw new InvalidArgumentError(`unknown consistency ${String(consistency)}`);
  }
}

function malformed(request: MalformedRequest): InvalidArgumentError {
  return new InvalidArgumentError(`malformed request: ${request[MALFORMED]}`);
}

/** Turns the results that are not a success into typed errors. */
function expectResult<T extends KvResult['type']>(result: KvResult, type: T): Extract<KvResult, { type: T }> {
  if (result.type === type) return result as Extract<KvResult, { type: T }>;
  switch (result.type) {
    case 'stale-sequence':
      throw new StaleSequenceError(result.clientId, result.sequence, result.lastSequence);
    case 'session-expired':
      throw new SessionExpiredError(result.clientId, result.sequence);
    case 'rejected':
      throw new ServiceCallError('KV_REJECTED', result.message);
    default:
      throw new Error(`unexpected KV result '${result.type}' for a ${type}`);
  }
}

/**
 * The `synod.kv.v1.KV` service of one node. Any node answers: writes and
 * linearizable reads on a follower go through its RaftNode, which forwards
 * them to the leader (proposal forwarding and ReadIndex) and answers once the
 * entry is applied here; with no leader known they fail with UNAVAILABLE and
 * the leader hint. Watches are served from this node's own replica.
 */
export function createKvService(context: KvServiceContext): { service: kvV1.KVServer; closeWatches(): void } {
  const { node, store, logger } = context;
  const watches = new Set<() => void>();

  const header = (revision?: number): kvV1.ResponseHeader => {
    const status = node.status();
    return {
      memberId: node.id,
      revision: BigInt(revision ?? store.revision),
      raftTerm: BigInt(status.term),
      leaderHint: status.leader ?? '',
    };
  };

  const fail = (error: unknown, method: string): grpc.ServiceError => {
    const serviceError = toServiceError(error, context.leaderView());
    if (serviceError.code === 13 /* INTERNAL */) logger.error({ err: error, method }, 'KV call failed unexpectedly');
    return serviceError;
  };

  function unary<Req, Res>(method: string, handle: (request: Req, wait: CallWait) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const wait = callWait(call, context.defaultTimeoutMs);
      let promise: Promise<Res>;
      try {
        const request: unknown = call.request;
        if (isMalformed(request)) throw malformed(request);
        promise = handle(call.request, wait);
      } catch (error) {
        promise = Promise.reject(error);
      }
      promise.then(
        (response) => {
          wait.release();
          callback(null, response);
        },
        (error: unknown) => {
          wait.release();
          callback(fail(error, method));
        },
      );
    };
  }

  const propose = async (command: KvCommand, wait: CallWait): Promise<KvResult> => {
    store.validate(command);
    return node.propose(encodeKvCommand(command), { signal: wait.signal, timeoutMs: wait.timeoutMs });
  };

  const service: kvV1.KVServer = {
    put: unary('Put', async (request: kvV1.PutRequest, wait) => {
      const session = sessionOf(request.session);
      const result = expectResult(
        await propose({ type: 'put', key: request.key, value: textOf(request.value, 'value'), session }, wait),
        'put',
      );
      return { header: header(result.revision), prevKv: wireKv(result.prevKv) };
    }),
    get: unary('Get', async (request: kvV1.GetRequest, wait) => {
      const consistency = consistencyOf(request.consistency);
      const result = await node.read({ type: 'get', key: request.key }, { consistency, signal: wait.signal, timeoutMs: wait.timeoutMs });
      if (result.type !== 'get') throw new Error(`unexpected query result '${result.type}'`);
      return { header: header(result.revision), kv: wireKv(result.kv) };
    }),
    delete: unary('Delete', async (request: kvV1.DeleteRequest, wait) => {
      const session = sessionOf(request.session);
      const result = expectResult(await propose({ type: 'delete', key: request.key, session }, wait), 'delete');
      return { header: header(result.revision), deleted: result.deleted, prevKv: wireKv(result.prevKv) };
    }),
    compareAndSwap: unary('CompareAndSwap', async (request: kvV1.CompareAndSwapRequest, wait) => {
      const session = sessionOf(request.session);
      let expected: KvCasCondition;
      const condition = request.expected;
      if (condition === undefined) throw new InvalidArgumentError('compare-and-swap needs one of expected_value, expect_absent, expected_mod_revision');
      if (condition.$case === 'expectedValue') expected = { kind: 'value', value: textOf(condition.value, 'expected_value') };
      else if (condition.$case === 'expectAbsent') {
        if (!condition.value) throw new InvalidArgumentError('expect_absent must be true when set');
        expected = { kind: 'absent' };
      } else {
        if (condition.value > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidArgumentError('expected_mod_revision is too large');
        expected = { kind: 'mod-revision', modRevision: Number(condition.value) };
      }
      const result = expectResult(
        await propose({ type: 'cas', key: request.key, expected, value: textOf(request.newValue, 'new_value'), session }, wait),
        'cas',
      );
      return { header: header(result.revision), succeeded: result.succeeded, kv: wireKv(result.kv) };
    }),
    watch: (call) => {
      const request = call.request;
      if (isMalformed(request)) {
        call.emit('error', fail(malformed(request), 'Watch'));
        return;
      }
      const end = (error: unknown): void => {
        stop();
        call.emit('error', fail(error, 'Watch'));
      };
      let unsubscribe: (() => void) | undefined;
      let ended = false;
      const stop = (): void => {
        if (ended) return;
        ended = true;
        unsubscribe?.();
        watches.delete(closeThis);
      };
      const closeThis = (): void => end(new ServiceCallError('STOPPED', 'the node is shutting down; resume the watch on another node'));
      call.on('cancelled', stop);
      call.on('error', stop);
      if (request.startRevision > BigInt(Number.MAX_SAFE_INTEGER)) {
        end(new InvalidArgumentError('start_revision is too large'));
        return;
      }
      const start = request.startRevision === 0n ? undefined : Number(request.startRevision);
      const target = request.prefix ? { prefix: request.key } : { key: request.key };
      const send = (event: KvEvent): void => {
        if (ended) return;
        const kv: kvV1.KeyValue | undefined =
          event.type === 'put'
            ? wireKv(event.kv)
            : { key: event.key, value: Buffer.alloc(0), createRevision: 0n, modRevision: BigInt(event.revision), version: 0n };
        call.write({
          header: header(event.revision),
          type: event.type === 'put' ? kvV1.EventType.EVENT_TYPE_PUT : kvV1.EventType.EVENT_TYPE_DELETE,
          kv,
        });
        if (call.writableLength > context.maxWatchBufferBytes) {
          end(new ServiceCallError('WATCH_TOO_SLOW', `the watcher fell more than ${context.maxWatchBufferBytes} bytes behind; resume from revision ${event.revision + 1}`));
        }
      };
      try {
        watches.add(closeThis);
        unsubscribe = store.watch(target, start, send, { onCancel: (error) => end(error) });
        if (ended) unsubscribe();
      } catch (error) {
        end(error);
      }
    },
  };
  return {
    service,
    closeWatches: () => {
      for (const close of [...watches]) close();
    },
  };
}
