import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { decodeRpcStatus, encodeRpcStatus, ERROR_DOMAIN, ERROR_METADATA, errorInfoMetadata, type ServiceFailure } from '@synod/protocol';

/** Header of a request: how long the client waits for this attempt, in ms; the node waits no longer. */
export const TIMEOUT_HEADER = 'synod-timeout-ms';

/**
 * A failed call's reply: headers `synod-error` (the typed reason) and, when
 * the answering node knows one, `synod-leader-id`; the payload is a
 * `google.rpc.Status` with one `google.rpc.ErrorInfo` detail, the same bytes
 * a gRPC server puts in `grpc-status-details-bin`.
 */
export function failureReply(failure: ServiceFailure): { headers: MsgHdrs; data: Uint8Array } {
  const h = natsHeaders();
  h.set(ERROR_METADATA.reason, failure.reason);
  if (failure.leaderId !== undefined) h.set(ERROR_METADATA.leaderId, failure.leaderId);
  const data = encodeRpcStatus({
    code: failure.code,
    message: failure.message,
    errorInfo: [{ reason: failure.reason, domain: ERROR_DOMAIN, metadata: errorInfoMetadata(failure) }],
  });
  return { headers: h, data };
}

/** A failure read back from a reply; undefined when the reply is a success. */
export interface ReplyFailure {
  readonly grpcCode: number;
  readonly reason: string;
  readonly message: string;
  readonly leaderId: string | undefined;
}

/** Reads a reply's failure, if it is one. */
export function replyFailure(msgHeaders: MsgHdrs | undefined, data: Uint8Array): ReplyFailure | undefined {
  const reason = msgHeaders?.get(ERROR_METADATA.reason) ?? '';
  if (reason === '') return undefined;
  const status = decodeRpcStatus(data);
  const leaderId = msgHeaders?.get(ERROR_METADATA.leaderId) ?? '';
  return {
    grpcCode: status?.code ?? 2 /* UNKNOWN */,
    reason,
    message: status?.message ?? reason,
    leaderId: leaderId === '' ? undefined : leaderId,
  };
}
