import type { NodeId, Transport } from '@synod/core';
import { COMPLIANCE_CLUSTER_ID, transportComplianceSuite } from '@synod/testkit/compliance';
import { TestPki } from '../certs.js';
import { closeAll, introduce, settle, startTransport } from '../helpers.js';

const pki = new TestPki(COMPLIANCE_CLUSTER_ID);

transportComplianceSuite('GrpcTransport (mutual TLS, loopback)', {
  capabilities: { reportsUnknownPeers: true, rejectsForeignClusterId: true },
  async create(ids) {
    const transports = await Promise.all(
      ids.map(async (id) => startTransport(id, { clusterId: COMPLIANCE_CLUSTER_ID, maxMessageBytes: 64 * 1024, security: await pki.security(id) })),
    );
    introduce(transports);
    return {
      transports: new Map<NodeId, Transport>(transports.map((t) => [t.localId, t])),
      clusterId: COMPLIANCE_CLUSTER_ID,
      settle: () => settle(transports),
      teardown: () => closeAll(transports),
    };
  },
});
