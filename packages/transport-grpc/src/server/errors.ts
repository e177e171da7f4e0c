import * as grpc from '@grpc/grpc-js';
import { SynodError, type NodeId } from '@synod/core';
import { ERROR_DOMAIN, encodeRpcStatus } from './rpc-status.js';

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

/** The metadata keys a Synod server sets on a failed call, next to the `google.rpc.Status` details. */
export const ERROR_METADATA = {
  /** The typed error's `code` (`NOT_LEADER`, `BUSY`, …). */
  reason: 'synod-error',
  /** The leader's node id, when the answering node knows one. */
  leaderId: 'synod-leader-id',
  /** The leader's `host:port` (its client and peer port), when known. */
  leaderEndpoint: 'synod-leader-endpoint',
} as const;

/** The gRPC status code of each Synod error code; see the package README's error table. */
export const STATUS_OF_ERROR_CODE: Readonly<Record<string, grpc.status>> = Object.freeze({
  NOT_LEADER: grpc.status.UNAVAILABLE,
  PROPOSAL_DROPPED: grpc.status.UNAVAILABLE,
  STOPPED: grpc.status.UNAVAILABLE,
  TRANSPORT_CLOSED: grpc.status.UNAVAILABLE,
  TIMEOUT: grpc.status.UNAVAILABLE,
  ABORTED: grpc.status.CANCELLED,
  BUSY: grpc.status.RESOURCE_EXHAUSTED,
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  KV_LIMIT_EXCEEDED: grpc.status.INVALID_ARGUMENT,
  KV_REJECTED: grpc.status.INVALID_ARGUMENT,
  MESSAGE_TOO_LARGE: grpc.status.RESOURCE_EXHAUSTED,
  WATCH_COMPACTED: grpc.status.OUT_OF_RANGE,
  WATCH_TOO_SLOW: grpc.status.RESOURCE_EXHAUSTED,
  STALE_SEQUENCE: grpc.status.FAILED_PRECONDITION,
  SESSION_EXPIRED: grpc.status.FAILED_PRECONDITION,
  NOT_VOTER: grpc.status.FAILED_PRECONDITION,
  INVALID_CONF_CHANGE: grpc.status.FAILED_PRECONDITION,
  CONF_CHANGE_PENDING: grpc.status.UNAVAILABLE,
  LEARNER_NOT_CAUGHT_UP: grpc.status.FAILED_PRECONDITION,
  UNIMPLEMENTED: grpc.status.UNIMPLEMENTED,
});

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

/** What a handler knows about leadership when it turns an error into a status. */
export interface LeaderView {
  readonly leaderId: NodeId | undefined;
  readonly leaderEndpoint: string | undefined;
}

/** The error code of a Synod error, or undefined for anything else. */
function synodCode(error: unknown): string | undefined {
  if (error instanceof SynodError) return error.code;
  return undefined;
}

/**
 * Turns whatever a handler threw into a gRPC status: the code from
 * {@link STATUS_OF_ERROR_CODE} (INTERNAL for an unexpected error, whose
 * message is not leaked), the error's message, and in the trailers the
 * `synod-error` reason, the leader hint (`synod-leader-id`,
 * `synod-leader-endpoint`) and the same facts as a `google.rpc.Status` with
 * one `google.rpc.ErrorInfo` detail (`grpc-status-details-bin`).
 */
export function toServiceError(error: unknown, leader: LeaderView): grpc.ServiceError {
  const reason = synodCode(error) ?? 'INTERNAL';
  const code = STATUS_OF_ERROR_CODE[reason] ?? (reason === 'INTERNAL' ? grpc.status.INTERNAL : grpc.status.INTERNAL);
  const message =
    reason === 'INTERNAL' ? 'internal error (logged on the server)' : error instanceof Error ? error.message : String(error);
  const metadata = new grpc.Metadata();
  const info: Record<string, string> = {};
  metadata.set(ERROR_METADATA.reason, reason);
  if (code === grpc.status.UNAVAILABLE || reason === 'NOT_LEADER') {
    if (leader.leaderId !== undefined) {
      metadata.set(ERROR_METADATA.leaderId, leader.leaderId);
      info['leader_id'] = leader.leaderId;
    }
    if (leader.leaderEndpoint !== undefined) {
      metadata.set(ERROR_METADATA.leaderEndpoint, leader.leaderEndpoint);
      info['leader_endpoint'] = leader.leaderEndpoint;
    }
  }
  metadata.set('grpc-status-details-bin', encodeRpcStatus({ code, message, errorInfo: [{ reason, domain: ERROR_DOMAIN, metadata: info }] }));
  return Object.assign(new Error(message), { code, details: message, metadata });
}
