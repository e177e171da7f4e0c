import { dirname, join } from 'node:path';
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
 * Creates `dir` and any missing parents, durably: each directory created is
 * an entry in its parent, which a power failure can lose until the parent is
 * fsynced, and with it the data directory and everything in it (votes
 * included). Returns the number of fsyncs issued.
 */
export function makeDirectoryDurably(fs: FileSystem, dir: string): number {
  const first = fs.mkdirSync(dir, { recursive: true });
  if (first === undefined) return 0;
  // `first` is the outermost directory created; it and every directory
  // below it down to `dir` are new, so each of their parents gained an entry.
  const top = fs.realpathSync(first);
  let fsyncs = 0;
  for (let path = fs.realpathSync(dir); ; path = dirname(path)) {
    fs.fsyncDirectorySync(dirname(path));
    fsyncs++;
    if (path === top || dirname(path) === path) return fsyncs;
  }
}

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
