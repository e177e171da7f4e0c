import { status as RpcCode } from '@grpc/grpc-js';
import { SynodError, type NodeId } from '@synod/core';

/**
 * A retried write carried a session sequence older than the last one the
 * store applied for that client: it is a late duplicate and was not applied.
 */
export class StaleSequenceError extends SynodError {
  readonly code = 'STALE_SEQUENCE';
  constructor(
    readonly clientId: string,
    readonly sequence: number,
    readonly lastSequence: number,
    options?: { cause?: unknown },
  ) {
    super(`session '${clientId}': sequence ${sequence} is older than the last applied (${lastSequence}); not applied`, options);
  }
}

/**
 * A write continued a session the store no longer knows (it expired or was
 * evicted). It was not applied; the client must start a new session.
 */
export class SessionExpiredError extends SynodError {
  readonly code = 'SESSION_EXPIRED';
  constructor(
    readonly clientId: string,
    readonly sequence: number,
    options?: { cause?: unknown },
  ) {
    super(`session '${clientId}' expired or was evicted; start a new session (sequence ${sequence} was not applied)`, options);
  }
}

/** A typed error a service handler raises itself, with the status code it maps to. */
export class ServiceCallError extends SynodError {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The metadata keys a Synod server sets on a failed call (gRPC trailers,
 * NATS reply headers), next to the `google.rpc.Status` details.
 */
export const ERROR_METADATA = {
  /** The typed error's `code` (`NOT_LEADER`, `BUSY`, …). */
  reason: 'synod-error',
  /** The leader's node id, when the answering node knows one. */
  leaderId: 'synod-leader-id',
  /** The leader's endpoint (gRPC `host:port`), when known. */
  leaderEndpoint: 'synod-leader-endpoint',
} as const;

/**
 * The status code (gRPC's numbering, also used over NATS) of each Synod
 * error code; see the gRPC transport's README error table.
 */
export const STATUS_OF_ERROR_CODE: Readonly<Record<string, RpcCode>> = Object.freeze({
  NOT_LEADER: RpcCode.UNAVAILABLE,
  PROPOSAL_DROPPED: RpcCode.UNAVAILABLE,
  STOPPED: RpcCode.UNAVAILABLE,
  TRANSPORT_CLOSED: RpcCode.UNAVAILABLE,
  TIMEOUT: RpcCode.UNAVAILABLE,
  ABORTED: RpcCode.CANCELLED,
  BUSY: RpcCode.RESOURCE_EXHAUSTED,
  INVALID_ARGUMENT: RpcCode.INVALID_ARGUMENT,
  KV_LIMIT_EXCEEDED: RpcCode.INVALID_ARGUMENT,
  KV_REJECTED: RpcCode.INVALID_ARGUMENT,
  MESSAGE_TOO_LARGE: RpcCode.RESOURCE_EXHAUSTED,
  WATCH_COMPACTED: RpcCode.OUT_OF_RANGE,
  WATCH_TOO_SLOW: RpcCode.RESOURCE_EXHAUSTED,
  STALE_SEQUENCE: RpcCode.FAILED_PRECONDITION,
  SESSION_EXPIRED: RpcCode.FAILED_PRECONDITION,
  NOT_VOTER: RpcCode.FAILED_PRECONDITION,
  INVALID_CONF_CHANGE: RpcCode.FAILED_PRECONDITION,
  CONF_CHANGE_PENDING: RpcCode.UNAVAILABLE,
  LEARNER_NOT_CAUGHT_UP: RpcCode.FAILED_PRECONDITION,
  UNIMPLEMENTED: RpcCode.UNIMPLEMENTED,
  FAULT_HOOKS_OFF: RpcCode.FAILED_PRECONDITION,
});

/** What a handler knows about leadership when it turns an error into a status. */
export interface LeaderView {
  readonly leaderId: NodeId | undefined;
  readonly leaderEndpoint: string | undefined;
}

/** A failed call as every transport reports it: status code, typed reason, message and the leader hint. */
export interface ServiceFailure {
  /** gRPC status numbering. */
  readonly code: RpcCode;
  /** The typed error's code, or `INTERNAL` for an unexpected error. */
  readonly reason: string;
  /** The error's message; an unexpected error's message is not leaked. */
  readonly message: string;
  /** Set for UNAVAILABLE and NOT_LEADER when the answering node knows the leader. */
  readonly leaderId: NodeId | undefined;
  readonly leaderEndpoint: string | undefined;
}

/**
 * Turns whatever a handler threw into a {@link ServiceFailure}: the code
 * from {@link STATUS_OF_ERROR_CODE} (INTERNAL for anything that is not a
 * SynodError), its message, and the leader hint when the call may succeed on
 * the leader.
 */
export function serviceFailure(error: unknown, leader: LeaderView): ServiceFailure {
  const reason = error instanceof SynodError ? error.code : 'INTERNAL';
  const code = STATUS_OF_ERROR_CODE[reason] ?? RpcCode.INTERNAL;
  const message = reason === 'INTERNAL' ? 'internal error (logged on the server)' : error instanceof Error ? error.message : String(error);
  const hinted = code === RpcCode.UNAVAILABLE || reason === 'NOT_LEADER';
  return {
    code,
    reason,
    message,
    leaderId: hinted ? leader.leaderId : undefined,
    leaderEndpoint: hinted ? leader.leaderEndpoint : undefined,
  };
}

/** The `google.rpc.ErrorInfo` metadata of a failure: the leader hint, when there is one. */
export function errorInfoMetadata(failure: ServiceFailure): Record<string, string> {
  const info: Record<string, string> = {};
  if (failure.leaderId !== undefined) info['leader_id'] = failure.leaderId;
  if (failure.leaderEndpoint !== undefined) info['leader_endpoint'] = failure.leaderEndpoint;
  return info;
}
