import type { Entry, RaftMessage } from './types.js';

/**
 * Structural checks on messages from peers. The core must never throw on
 * peer input (a bad packet must not crash a node), so anything that fails
 * here is dropped before the state machine looks at it.
 */

const messageTypes: ReadonlySet<string> = new Set<RaftMessage['type']>([
  'vote',
  'prevote',
  'vote-response',
  'prevote-response',
  'append',
  'append-response',
  'heartbeat',
  'heartbeat-response',
  'timeout-now',
  'read-index',
  'read-index-response',
  'propose',
  'snapshot',
  'snapshot-response',
]);

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isEntry(value: unknown): value is Entry {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Partial<Entry>;
  return (
    isIndex(e.index) &&
    isIndex(e.term) &&
    (e.type === 'normal' || e.type === 'conf-change') &&
    e.data instanceof Uint8Array
  );
}

/**
 * True when `m` has the shape its type promises, with integer terms and
 * indexes. For appends the entries must be consecutive from
 * `prevLogIndex + 1`, with terms that never decrease and never exceed the
 * message term (Log Matching relies on both).
 */
export function isWellFormedMessage(m: unknown): m is RaftMessage {
  if (typeof m !== 'object' || m === null) return false;
  const base = m as { type?: unknown; from?: unknown; to?: unknown; term?: unknown };
  if (typeof base.type !== 'string' || !messageTypes.has(base.type)) return false;
  if (typeof base.from !== 'string' || typeof base.to !== 'string' || !isIndex(base.term)) return false;
  const msg = m as RaftMessage;
  switch (msg.type) {
    case 'vote':
    case 'prevote':
      return isIndex(msg.lastLogIndex) && isIndex(msg.lastLogTerm) && typeof msg.leadershipTransfer === 'boolean';
    case 'vote-response':
    case 'prevote-response':
      return typeof msg.reject === 'boolean';
    case 'append': {
      if (!isIndex(msg.prevLogIndex) || !isIndex(msg.prevLogTerm) || !isIndex(msg.commit)) return false;
      if (!Array.isArray(msg.entries)) return false;
      let expected = msg.prevLogIndex + 1;
      let lastTerm = msg.prevLogTerm;
      for (const e of msg.entries as unknown[]) {
        if (!isEntry(e) || e.index !== expected || e.term < lastTerm || e.term > msg.term) return false;
        expected++;
        lastTerm = e.term;
      }
      return true;
    }
    case 'append-response':
      return typeof msg.reject === 'boolean' && isIndex(msg.index) && isIndex(msg.rejectHint) && isIndex(msg.logTerm);
    case 'heartbeat':
      return isIndex(msg.commit) && typeof msg.context === 'string';
    case 'heartbeat-response':
      return typeof msg.context === 'string';
    case 'timeout-now':
      return true;
    case 'read-index':
      return typeof msg.context === 'string' && (msg.mode === 'safe' || msg.mode === 'lease');
    case 'read-index-response':
      return typeof msg.context === 'string' && isIndex(msg.index) && typeof msg.reject === 'boolean';
    case 'propose':
      return Array.isArray(msg.entries) && (msg.entries as unknown[]).every(isEntry);
    case 'snapshot': {
      const s = msg.snapshot as unknown;
      if (typeof s !== 'object' || s === null) return false;
      const snap = msg.snapshot;
      return (
        typeof snap.metadata === 'object' &&
        snap.metadata !== null &&
        isIndex(snap.metadata.index) &&
        isIndex(snap.metadata.term) &&
        typeof snap.metadata.confState === 'object' &&
        snap.metadata.confState !== null &&
        Array.isArray(snap.metadata.confState.voters) &&
        Array.isArray(snap.metadata.confState.learners) &&
        Array.isArray(snap.metadata.confState.votersOutgoing) &&
        snap.data instanceof Uint8Array &&
        isIndex(msg.offset) &&
        isIndex(msg.totalBytes) &&
        msg.offset + snap.data.byteLength <= msg.totalBytes
      );
    }
    case 'snapshot-response':
      return isIndex(msg.index) && isIndex(msg.offset) && typeof msg.reject === 'boolean';
  }
}
