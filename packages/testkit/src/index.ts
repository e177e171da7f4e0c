export * from './simulator/index.js';
export { runSimCommand } from './cli/sim-command.js';
export { EXIT_USAGE, UsageError, integerFlag, type CommandIo } from './cli/cli-io.js';
export * from './cluster/index.js';
