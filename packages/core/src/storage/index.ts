export * from './storage.js';
export * from './storage-errors.js';
// limitBytes, MemoryStorage's paging helper, is shared with the Raft log only.
export { MemoryStorage, type MemoryStorageOptions } from './memory-storage.js';
export * from './file/index.js';
