import { join } from 'node:path';
import type { FileSystem } from './file-system.js';

/**
 * Small helpers for making file-system changes durable (internal).
 *
 * A new or renamed file survives a power failure only once its directory
 * entry is on disk too, which takes an fsync of the directory itself;
 * `fdatasync` of the file covers only its data.
 */

/** Suffix of files written by {@link writeFileAtomically} before they are renamed into place. */
export const TEMP_SUFFIX = '.tmp';

/**
 * Replaces `dir/name` with `bytes` so that a crash leaves either the old or
 * the new file, never a mix: write a temp file, fsync it, rename it over the
 * target, fsync the directory. Returns the number of fsyncs issued.
 */
export function writeFileAtomically(fs: FileSystem, dir: string, name: string, bytes: Uint8Array): number {
  const target = join(dir, name);
  const temp = `${target}${TEMP_SUFFIX}`;
  const fd = fs.openSync(temp, 'w');
  try {
    let written = 0;
    while (written < bytes.byteLength) written += fs.writeSync(fd, bytes, written, bytes.byteLength - written, null);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, target);
  fs.fsyncDirectorySync(dir);
  return 2;
}

/** Removes temp files a crash left behind mid-way through {@link writeFileAtomically}. */
export function removeTempFiles(fs: FileSystem, dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    if (name.endsWith(TEMP_SUFFIX)) fs.unlinkSync(join(dir, name));
  }
}
