export * from './file-storage.js';
export * from './file-storage-errors.js';
