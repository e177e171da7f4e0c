import * as grpc from '@grpc/grpc-js';
import { ERROR_METADATA } from '@synod/protocol';

export { isRetryable, SynodRpcError } from '@synod/protocol';

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

