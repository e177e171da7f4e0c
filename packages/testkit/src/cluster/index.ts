export { RaftTestCluster, type KvRaftNode, type RaftTestClusterOptions } from './raft-test-cluster.js';
