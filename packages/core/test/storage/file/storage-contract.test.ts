import { MemoryStorage } from '../../../src/storage/memory-storage.js';
import { FileStorage } from '../../../src/storage/file/file-storage.js';
import { removeDir, tempDir } from './helpers.js';
import { storageContractSuite } from './storage-contract.js';

storageContractSuite('MemoryStorage', () => {
  const storage = new MemoryStorage();
  return Promise.resolve({ storage, cleanup: () => storage.close() });
});

storageContractSuite('FileStorage', async () => {
  const dir = tempDir();
  // Tiny segments and cache, so the same scenarios also cross segment
  // boundaries and read entries back from disk.
  const storage = await FileStorage.open(dir, { segmentBytes: 1024, cacheBytes: 0 });
  return {
    storage,
    cleanup: async () => {
      await storage.close();
      removeDir(dir);
    },
  };
});
