export type * from './types.js';
export { KvLimitExceededError, WatchCompactedError } from './kv-errors.js';
export { KV_COMMAND_FORMAT_VERSION, decodeKvCommand, encodeKvCommand, kvCommandCodec } from './command-codec.js';
export { KV_RESULT_FORMAT_VERSION, decodeKvResult, encodeKvResult } from './result-codec.js';
export type { KvWatchOptions } from './watch-hub.js';
export { KvStateMachine, type KvLimits, type KvStateMachineOptions } from './kv-state-machine.js';
