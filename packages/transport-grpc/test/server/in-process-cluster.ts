import { MemoryStorage, type NodeId } from '@synod/core';
import { createSynodServer, type GrpcSecurity, type SynodServer, type SynodServerOptions } from '../../src/index.js';

export interface InProcessCluster {
  readonly servers: SynodServer[];
  readonly endpoints: string[];
  leader(): SynodServer | undefined;
  stop(): Promise<void>;
}

/**
 * Starts `ids.length` Synod servers in this process on free loopback ports
 * (fast ticks), tells them each other's ports, and waits for a leader.
 */
export async function startInProcessCluster(
  ids: readonly NodeId[] = ['n1', 'n2', 'n3'],
  options: {
    security?: (id: NodeId) => Promise<GrpcSecurity> | GrpcSecurity;
    overrides?: Partial<SynodServerOptions>;
    clusterId?: string;
    /** Members that never run (their address refuses connections). */
    absentPeers?: readonly NodeId[];
  } = {},
): Promise<InProcessCluster> {
  const servers: SynodServer[] = [];
  for (const id of ids) {
    servers.push(
      createSynodServer({
        nodeId: id,
        clusterId: options.clusterId ?? 'test-cluster',
        listen: '127.0.0.1:0',
        peers: Object.fromEntries([...ids, ...(options.absentPeers ?? [])].filter((other) => other !== id).map((other) => [other, '127.0.0.1:1'])),
        security: options.security ? await options.security(id) : { insecure: true },
        storage: new MemoryStorage(),
        tickIntervalMs: 20,
        transport: { backoff: { initialMs: 20, maxMs: 200 }, connectTimeoutMs: 2_000, closeTimeoutMs: 200 },
        ...options.overrides,
      }),
    );
  }
  await Promise.all(servers.map((server) => server.start()));
  const endpoints = servers.map((server) => server.boundAddress!);
  const addresses = {
    ...Object.fromEntries((options.absentPeers ?? []).map((id) => [id, '127.0.0.1:1'])),
    ...Object.fromEntries(servers.map((server) => [server.nodeId, server.boundAddress!])),
  };
  for (const server of servers) server.setPeers(addresses);
  const leader = (): SynodServer | undefined => servers.find((server) => server.node.status().role === 'leader' && !server.node.status().stopped);
  const deadline = Date.now() + 10_000;
  while (leader() === undefined || servers.some((s) => s.node.status().leader === undefined)) {
    if (Date.now() > deadline) throw new Error('no leader within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    servers,
    endpoints,
    leader,
    stop: async () => {
      await Promise.all(servers.map((server) => server.stop(200)));
    },
  };
}
