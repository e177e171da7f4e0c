import * as grpc from '@grpc/grpc-js';
import { SynodError } from '@synod/core';
import { ERROR_METADATA } from '../server/errors.js';

/**
 * A call to a Synod cluster failed with a status the client does not retry
 * (or kept failing until the call's deadline). `reason` is the server's
 * typed error code (`INVALID_ARGUMENT`, `SESSION_EXPIRED`, `WATCH_COMPACTED`,
 * …, see the package README), or `GRPC_<STATUS>` when the status came from
 * gRPC itself (no server reached, TLS refused, …).
 */
export class SynodRpcError extends SynodError {
  readonly code: string;
  constructor(
    /** The gRPC status code. */
    readonly grpcCode: grpc.status,
    /** The server's typed error code, or `GRPC_<STATUS>`. */
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

/** What a failed gRPC call said, with the Synod trailers read. */
export interface CallFailure {
  readonly grpcCode: grpc.status;
  readonly reason: string;
  readonly message: string;
  readonly leaderId: string | undefined;
  readonly leaderEndpoint: string | undefined;
}

function first(metadata: grpc.Metadata | undefined, key: string): string | undefined {
  const value = metadata?.get(key)[0];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Reads a grpc-js ServiceError. */
export function callFailure(error: unknown): CallFailure {
  const service = error as Partial<grpc.ServiceError>;
  const grpcCode = typeof service.code === 'number' ? service.code : grpc.status.UNKNOWN;
  const metadata = service.metadata instanceof grpc.Metadata ? service.metadata : undefined;
  return {
    grpcCode,
    reason: first(metadata, ERROR_METADATA.reason) ?? `GRPC_${grpc.status[grpcCode] ?? grpcCode}`,
    message: service.details ?? (error instanceof Error ? error.message : String(error)),
    leaderId: first(metadata, ERROR_METADATA.leaderId),
    leaderEndpoint: first(metadata, ERROR_METADATA.leaderEndpoint),
  };
}

/**
 * Whether a failed attempt may be sent again. Writes always carry a session,
 * so a retry of one whose answer was lost applies once.
 */
export function isRetryable(failure: CallFailure): boolean {
  switch (failure.grpcCode) {
    case grpc.status.UNAVAILABLE:
    case grpc.status.DEADLINE_EXCEEDED:
      return true;
    case grpc.status.RESOURCE_EXHAUSTED:
      return failure.reason === 'BUSY' || failure.reason === 'WATCH_TOO_SLOW';
    default:
      return false;
  }
}
