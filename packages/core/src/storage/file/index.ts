export * from './file-storage.js';
export * from './file-storage-errors.js';
export { nodeFileSystem, type FileOpenFlags, type FileSystem } from './file-system.js';
export type { TornTailReport } from './wal-recovery.js';
export type { TornTail } from './segment-format.js';
