import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../../../src/raft/types.js';

/** A fresh temporary directory; remove it with {@link removeDir}. */
export function tempDir(prefix = 'synod-fs-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export const entry = (index: number, term: number, bytes = 0, fill = index & 0xff): Entry => ({
  index,
  term,
  type: 'normal',
  data: new Uint8Array(bytes).fill(fill),
});

/** Entries with the given terms, starting at index `from`. */
export const entriesFrom = (from: number, ...terms: number[]): Entry[] => terms.map((t, i) => entry(from + i, t, 8));

/** An entry as plain data, so cached and disk-read entries compare equal. */
export const plain = (e: Entry): { index: number; term: number; type: string; data: number[] } => ({
  index: e.index,
  term: e.term,
  type: e.type,
  data: Array.from(e.data),
});
