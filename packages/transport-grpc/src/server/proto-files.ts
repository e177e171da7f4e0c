import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';

/** The directory of the published `.proto` files of `@synod/protocol` (`synod/kv/v1/kv.proto`, …). */
export function synodProtoDir(): string {
  return join(dirname(fileURLToPath(import.meta.resolve('@synod/protocol/package.json'))), 'proto');
}

/** The client-facing files, relative to {@link synodProtoDir}. */
export const CLIENT_PROTO_FILES = ['synod/kv/v1/kv.proto', 'synod/cluster/v1/cluster.proto', 'synod/peer/v1/peer.proto'] as const;

/**
 * Every service a Synod server hosts, loaded from the `.proto` sources, for
 * server reflection: KV, Cluster, the peer stream and health.
 */
export function loadServedDefinitions(): protoLoader.PackageDefinition {
  return protoLoader.loadSync([...CLIENT_PROTO_FILES.map((file) => join(synodProtoDir(), file)), healthProtoPath], {
    includeDirs: [synodProtoDir(), dirname(healthProtoPath)],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
}
