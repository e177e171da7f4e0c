import type { NodeId, Transport } from '@synod/core';
import { COMPLIANCE_CLUSTER_ID, transportComplianceSuite } from '@synod/testkit/compliance';
import { afterAll, beforeAll } from 'vitest';
import { closeAll, settle, startCluster } from '../helpers.js';
import { NatsServer } from '../../src/nats-server.js';

// A max_payload so small that the suite's 272-byte binary payload, and most
// of its batches, travel in chunks.
let server: NatsServer;
beforeAll(async () => {
  server = await NatsServer.start({ maxPayload: 256 });
});
afterAll(async () => {
  await server.dispose();
});

transportComplianceSuite('NatsTransport (max_payload 256, chunked)', {
  capabilities: { reportsUnknownPeers: true, rejectsForeignClusterId: true },
  async create(ids) {
    const transports = await startCluster(server.url, ids, () => ({ clusterId: COMPLIANCE_CLUSTER_ID, maxMessageBytes: 16 * 1024 }));
    return {
      transports: new Map<NodeId, Transport>(transports.map((t) => [t.localId, t])),
      clusterId: COMPLIANCE_CLUSTER_ID,
      settle: () => settle(transports),
      teardown: () => closeAll(transports),
    };
  },
});
