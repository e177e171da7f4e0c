import { SeededRandom, VirtualClock, type NodeId, type Transport } from '@synod/core';
import { MemoryNetwork, type EnvelopeCodec } from '@synod/transport-memory';
import { COMPLIANCE_CLUSTER_ID, jsonTestCodec, transportComplianceSuite, type TransportSuiteSetup } from '../../src/compliance/index.js';

// The memory transport's compliance run lives here rather than in
// packages/transport-memory/test: testkit depends on transport-memory, so the
// reverse import would be a dependency cycle (and lint forbids it).

function memorySetup(codec?: EnvelopeCodec): TransportSuiteSetup {
  return {
    capabilities: { reportsUnknownPeers: true, rejectsForeignClusterId: true },
    async create(nodeIds) {
      const clock = new VirtualClock();
      const network = new MemoryNetwork({
        clock,
        random: new SeededRandom(20_240_601),
        clusterId: COMPLIANCE_CLUSTER_ID,
        codec,
        faults: { delay: { kind: 'uniform', minMs: 1, maxMs: 5 } },
      });
      const transports = new Map<NodeId, Transport>(nodeIds.map((id) => [id, network.endpoint(id)]));
      return {
        transports,
        clusterId: COMPLIANCE_CLUSTER_ID,
        async settle() {
          // Nothing else sets timers on this clock, so running it dry delivers everything.
          while (clock.runNext()) {
            // next timer
          }
        },
        teardown: () => network.close(),
      };
    },
  };
}

transportComplianceSuite('MemoryTransport (virtual clock)', memorySetup());
transportComplianceSuite('MemoryTransport (JSON codec round trip)', memorySetup(jsonTestCodec));
