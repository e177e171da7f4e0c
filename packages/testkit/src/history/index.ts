/**
 * Client histories: recording them ({@link HistoryRecorder}), storing them as
 * JSON lines, and reading Jepsen and Porcupine histories.
 *
 * @packageDocumentation
 */
export * from './types.js';
export * from './errors.js';
export * from './operations.js';
export * from './recorder.js';
export * from './jsonl.js';
export * from './kv-ops.js';
export * from './register-ops.js';
export * from './edn.js';
export * from './jepsen.js';
export * from './edn-kv.js';
export * from './generate.js';
