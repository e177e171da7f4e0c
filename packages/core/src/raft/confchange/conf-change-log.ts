import type { RaftLog } from '../raft-log.js';
import type { ConfState } from '../types.js';
import { decodeConfChange } from './conf-change-codec.js';

/** Entries are scanned in pages of this many bytes, so a long unapplied tail is never loaded at once. */
const PAGE_BYTES = 1024 * 1024;

/**
 * Calls `visit` for every entry of type conf-change in [lo, hi] that the log
 * still holds, in index order; stops early when `visit` returns true.
 */
function scan(log: RaftLog, lo: number, hi: number, visit: (data: Uint8Array) => boolean | void): void {
  let next = Math.max(lo, log.firstIndex());
  while (next <= hi) {
    const page = log.slice(next, hi + 1, PAGE_BYTES);
    if (page === undefined || page.length === 0) return;
    for (const entry of page) {
      if (entry.type === 'conf-change' && visit(entry.data) === true) return;
    }
    next = page[page.length - 1]!.index + 1;
  }
}

/**
 * True when a conf-change entry sits in (applied, committed]. A node must not
 * campaign then: it would count votes with a configuration that is already
 * outdated (the committed change is not in effect here yet).
 */
export function hasUnappliedConfChange(log: RaftLog): boolean {
  return hasConfChangeIn(log, log.applied + 1, log.committed);
}

/** True when the log holds a conf-change entry in [lo, hi]. */
export function hasConfChangeIn(log: RaftLog, lo: number, hi: number): boolean {
  let found = false;
  scan(log, lo, hi, () => (found = true));
  return found;
}

/**
 * The configuration the last conf-change entry in [lo, hi] results in, or
 * undefined when there is none. Used at start-up to restore the
 * configuration of entries the application already applied (RaftConfig.applied).
 * Entries that do not decode are skipped, as they were when first applied.
 */
export function lastConfigIn(log: RaftLog, lo: number, hi: number): ConfState | undefined {
  let last: ConfState | undefined;
  scan(log, lo, hi, (data) => {
    try {
      last = decodeConfChange(data).result;
    } catch {
      // Every replica skipped it the same way.
    }
  });
  return last;
}
