import type * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError, type KvStateMachine, type Logger } from '@synod/core';
import { createKvHandlers, KvWatchRegistry, kvV1, openKvWatch, ServiceCallError, type KvRaftNode } from '@synod/protocol';
import { toServiceError, type LeaderView } from './errors.js';
import { isMalformed, MALFORMED, type MalformedRequest } from './tolerant-service.js';
import { callTimeoutMs, callWait, type CallWait } from './call-wait.js';

export type { KvRaftNode } from '@synod/protocol';

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

function malformed(request: MalformedRequest): InvalidArgumentError {
  return new InvalidArgumentError(`malformed request: ${request[MALFORMED]}`);
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
  const watches = new KvWatchRegistry();

  const handlers = createKvHandlers(node, store);
  const header = handlers.header;

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

  /**
   * A unary call that only its deadline ends: no abort signal. A read has
   * no effect to call off, and ends within a heartbeat round (or at its
   * deadline) whether or not the client is still there; an AbortController
   * and its listeners per get cost more than the read machinery itself.
   */
  function unaryToDeadline<Req, Res>(method: string, handle: (request: Req, wait: { timeoutMs: number }) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      let promise: Promise<Res>;
      try {
        const request: unknown = call.request;
        if (isMalformed(request)) throw malformed(request);
        promise = handle(call.request, { timeoutMs: callTimeoutMs(call, context.defaultTimeoutMs) });
      } catch (error) {
        promise = Promise.reject(error);
      }
      promise.then(
        (response) => callback(null, response),
        (error: unknown) => callback(fail(error, method)),
      );
    };
  }

  // The handlers need only the signal and the time left; release stays here.
  const waitOf = (wait: CallWait) => ({ signal: wait.signal, timeoutMs: wait.timeoutMs });
  const service: kvV1.KVServer = {
    put: unary('Put', (request: kvV1.PutRequest, wait) => handlers.put(request, waitOf(wait))),
    get: unaryToDeadline('Get', (request: kvV1.GetRequest, wait) => handlers.get(request, wait)),
    delete: unary('Delete', (request: kvV1.DeleteRequest, wait) => handlers.delete(request, waitOf(wait))),
    compareAndSwap: unary('CompareAndSwap', (request: kvV1.CompareAndSwapRequest, wait) => handlers.compareAndSwap(request, waitOf(wait))),
    watch: (call) => {
      const request = call.request;
      if (isMalformed(request)) {
        call.emit('error', fail(malformed(request), 'Watch'));
        return;
      }
      const watch = openKvWatch(store, watches, request, header, {
        send: (response, revision) => {
          call.write(response);
          return call.writableLength > context.maxWatchBufferBytes
            ? new ServiceCallError('WATCH_TOO_SLOW', `the watcher fell more than ${context.maxWatchBufferBytes} bytes behind; resume from revision ${revision + 1}`)
            : undefined;
        },
        end: (error) => call.emit('error', fail(error, 'Watch')),
      });
      call.on('cancelled', () => watch.stop());
      call.on('error', () => watch.stop());
    },
  };
  return {
    service,
    closeWatches: () => watches.closeAll(),
  };
}
