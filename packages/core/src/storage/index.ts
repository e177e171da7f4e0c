export * from './storage.js';
export * from './storage-errors.js';
export * from './memory-storage.js';
export * from './file/index.js';
