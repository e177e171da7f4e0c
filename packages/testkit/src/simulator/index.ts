export {
  simulateRaft,
  type FileRecoveryCounts,
  type RaftSimulationOptions,
  type RaftSimulationResult,
  type SimStorageMode,
} from './raft-simulation.js';
export { RaftInvariants, fingerprint, type Violation } from './invariants.js';
export {
  SimFileSystem,
  type SimCrashReport,
  type SimFileSystemOptions,
  type SimFileSystemStats,
} from './sim-file-system.js';
export { SimStorage, cloneMemoryStorage, type AppendObserver, type SyncScheduler } from './sim-storage.js';
export { ObservedStorage } from './observed-storage.js';
export { KvWorkload, type KvNode, type KvWorkloadOptions, type OperationLog, type WorkloadCluster } from './kv-workload.js';
export { driveClock, driveUntil, drainMicrotasks } from './drive-clock.js';
