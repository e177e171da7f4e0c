export * from './simulator/index.js';
export { runSimCommand } from './cli/sim-command.js';
export { EXIT_USAGE, UsageError, integerFlag, type CommandIo } from './cli/cli-io.js';
export * from './cluster/index.js';
export * from './history/index.js';
export * from './linearizability/index.js';
export * from './report/index.js';
export {
  runCheckHistory,
  detectHistoryFormat,
  CHECK_HISTORY_EXIT,
  type CheckHistoryIo,
  type CheckHistoryModelName,
  type HistoryFormat,
} from './cli/check-history.js';
export * from './swim-sim/index.js';
export * from './paxos-sim/index.js';
export { freePorts } from './net/free-ports.js';
