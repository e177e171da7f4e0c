import { closeSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Small helpers for making file-system changes durable (internal).
 *
 * A new or renamed file survives a power failure only once its directory
 * entry is on disk too, which takes an fsync of the directory itself;
 * `fdatasync` of the file covers only its data.
 */

/** Suffix of files written by {@link writeFileAtomically} before they are renamed into place. */
export const TEMP_SUFFIX = '.tmp';

/** Fsyncs a directory so that entries created, renamed or removed in it are durable. */
export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces `dir/name` with `bytes` so that a crash leaves either the old or
 * the new file, never a mix: write a temp file, fsync it, rename it over the
 * target, fsync the directory. Returns the number of fsyncs issued.
 */
export function writeFileAtomically(dir: string, name: string, bytes: Uint8Array): number {
  const target = join(dir, name);
  const temp = `${target}${TEMP_SUFFIX}`;
  const fd = openSync(temp, 'w');
  try {
    let written = 0;
    while (written < bytes.byteLength) written += writeSync(fd, bytes, written, bytes.byteLength - written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, target);
  fsyncDirectory(dir);
  return 2;
}

/** Removes temp files a crash left behind mid-way through {@link writeFileAtomically}. */
export function removeTempFiles(dir: string): void {
  for (const name of readdirSync(dir)) {
    if (name.endsWith(TEMP_SUFFIX)) unlinkSync(join(dir, name));
  }
}
