import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { createChannelCredentials, type ClientSecurity, type GrpcSecurity } from '../security.js';

/** What `grpc.health.v1.Health/Check` answered, or why it could not. */
export type HealthAnswer = 'SERVING' | 'NOT_SERVING' | 'UNKNOWN' | 'SERVICE_UNKNOWN' | `UNREACHABLE: ${string}`;

interface HealthStub extends grpc.Client {
  check(request: { service: string }, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response?: { status: string }) => void): void;
}

const HealthClient = grpc.makeClientConstructor(healthService, 'grpc.health.v1.Health') as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
) => HealthStub;

/**
 * Asks one endpoint's `grpc.health.v1.Health/Check` about `service` (`''`
 * for the server, `synod.kv.v1.KV` for whether it can serve KV now).
 *
 * @example
 * ```ts
 * const answer = await checkHealth('127.0.0.1:7001', { insecure: true }); // 'SERVING'
 * ```
 */
export function checkHealth(endpoint: string, security: ClientSecurity | GrpcSecurity, service = '', timeoutMs = 2_000): Promise<HealthAnswer> {
  const client = new HealthClient(endpoint, createChannelCredentials(security));
  return new Promise<HealthAnswer>((resolve) => {
    client.check({ service }, { deadline: Date.now() + timeoutMs }, (error, response) => {
      client.close();
      if (error !== null) {
        resolve(error.code === grpc.status.NOT_FOUND ? 'SERVICE_UNKNOWN' : `UNREACHABLE: ${error.details || grpc.status[error.code]}`);
      } else resolve((response?.status as HealthAnswer | undefined) ?? 'UNKNOWN');
    });
  });
}
