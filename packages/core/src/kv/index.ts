/**
 * The reference replicated key-value state machine: put, get, delete,
 * compare-and-swap, etcd-style revisions, watches over a bounded history, and
 * client sessions for exactly-once application. Commands travel through the
 * consensus log as bytes made by `encodeKvCommand`.
 *
 * @example
 * ```ts
 * import { KvStateMachine, encodeKvCommand } from '@synod/core';
 *
 * const kv = new KvStateMachine({ sessionTtl: 30_000 });
 * const command = { type: 'put', key: 'a', value: '1', session: { clientId: 'c1', sequence: 1 } } as const;
 * kv.validate(command);
 * const result = kv.apply(encodeKvCommand(command), { index: 1, term: 1 });
 * // result: { type: 'put', revision: 1, kv: { key: 'a', value: '1', createRevision: 1, modRevision: 1, version: 1 }, prevKv: undefined }
 * ```
 *
 * @module
 */
export type * from './types.js';
export { KvLimitExceededError, WatchCompactedError } from './kv-errors.js';
export { KV_COMMAND_FORMAT_VERSION, decodeKvCommand, encodeKvCommand, encodeKvCommandBatch, kvCommandCodec } from './command-codec.js';
export { KV_RESULT_FORMAT_VERSION, decodeKvResult, encodeKvResult } from './result-codec.js';
export type { KvWatchOptions } from './watch-hub.js';
export { KvStateMachine, type KvLimits, type KvStateMachineOptions } from './kv-state-machine.js';
export {
  startSessionExpiry,
  type SessionExpiryNode,
  type SessionExpiryOptions,
  type SessionExpiryStore,
} from './session-expiry.js';
