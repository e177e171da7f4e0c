/**
 * Synod's Jepsen-style fault suite: `synod serve` processes in network
 * namespaces, a recorded client workload, a seeded nemesis, and the checks
 * after healing. See the README for running it.
 *
 * @packageDocumentation
 */
export { runChaos, timelineLine, type ChaosOptions, type ChaosResult } from './run-chaos.js';
export { runChaosCli, workspaceServeCommand, CHAOS_USAGE, type ChaosIo } from './cli.js';
export { ChaosCluster, type ChaosClusterOptions } from './chaos-cluster.js';
export { NetworkLab, type LabCapabilities, type LabHost, type LinkImpairment, type NetworkLabOptions } from './network-lab.js';
export { ServeProcess, type ServeExit, type ServeProcessOptions } from './serve-process.js';
export { ChaosWorkload, runOperation, type ChaosWorkloadOptions, type WorkloadCounts } from './workload.js';
export { availableFaults, FAULT_KINDS, Nemesis, planSchedule, type FaultKind, type FaultRecord, type PlannedFault, type ScheduleOptions } from './nemesis.js';
export { compareStateHashes, findLostWrites, type LostWrite, type StateHashCheck } from './checks.js';
export { CommandFailedError } from './shell.js';
