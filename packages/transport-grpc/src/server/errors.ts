import * as grpc from '@grpc/grpc-js';
import { ERROR_DOMAIN, ERROR_METADATA, encodeRpcStatus, errorInfoMetadata, serviceFailure, type LeaderView } from '@synod/protocol';

// The typed errors and the code table are transport-neutral and live in @synod/protocol; re-exported here for existing users.
export {
  ERROR_METADATA,
  STATUS_OF_ERROR_CODE,
  ServiceCallError,
  SessionExpiredError,
  StaleSequenceError,
  type LeaderView,
} from '@synod/protocol';

/**
 * Turns whatever a handler threw into a gRPC status: the code from
 * `STATUS_OF_ERROR_CODE` (INTERNAL for an unexpected error, whose
 * message is not leaked), the error's message, and in the trailers the
 * `synod-error` reason, the leader hint (`synod-leader-id`,
 * `synod-leader-endpoint`) and the same facts as a `google.rpc.Status` with
 * one `google.rpc.ErrorInfo` detail (`grpc-status-details-bin`).
 */
export function toServiceError(error: unknown, leader: LeaderView): grpc.ServiceError {
  const failure = serviceFailure(error, leader);
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_METADATA.reason, failure.reason);
  if (failure.leaderId !== undefined) metadata.set(ERROR_METADATA.leaderId, failure.leaderId);
  if (failure.leaderEndpoint !== undefined) metadata.set(ERROR_METADATA.leaderEndpoint, failure.leaderEndpoint);
  metadata.set(
    'grpc-status-details-bin',
    encodeRpcStatus({
      code: failure.code,
      message: failure.message,
      errorInfo: [{ reason: failure.reason, domain: ERROR_DOMAIN, metadata: errorInfoMetadata(failure) }],
    }),
  );
  return Object.assign(new Error(failure.message), { code: failure.code, details: failure.message, metadata });
}
