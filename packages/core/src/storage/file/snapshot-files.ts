import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { ConfState, Snapshot } from '../../raft/types.js';
import { TEMP_SUFFIX, writeFileAtomically } from './durable-files.js';
import { StorageCorruptionError, withIo } from './file-storage-errors.js';
import type { FileSystem } from './file-system.js';

/**
 * Snapshot files (internal): `snapshot-<index as 16 hex digits>.snap`,
 * written atomically (temp file, fsync, rename, fsync of the directory).
 *
 * ```
 * offset 0   8 bytes  magic "SYNODSNP"
 * offset 8   u32 LE   format version (1)
 * offset 12  u32 LE   CRC-32 of every byte from offset 16 to the end
 * offset 16  u32 LE   metadata length m
 * offset 20  m bytes  metadata, JSON: { index, term, origin, confState }
 * offset 20+m         snapshot data
 * ```
 *
 * `origin` records how the snapshot got here. An `applied` snapshot (from
 * the leader) replaces the whole log, so if a crash lost the WAL's reset
 * record, recovery must still discard the old log. A `created` one (taken
 * locally from applied entries) leaves the log alone.
 */

export type SnapshotOrigin = 'applied' | 'created';

export interface StoredSnapshot {
  readonly snapshot: Snapshot;
  readonly origin: SnapshotOrigin;
  readonly file: string;
}

export const SNAPSHOT_FORMAT_VERSION = 1;
const MAGIC = Buffer.from('SYNODSNP', 'latin1');
const NAME = /^snapshot-([0-9a-f]{16})\.snap$/;
const HEADER_BYTES = 20;

export function snapshotFileName(index: number): string {
  return `snapshot-${index.toString(16).padStart(16, '0')}.snap`;
}

/** Writes `snapshot` durably and returns the number of fsyncs it took. */
export function writeSnapshotFile(fs: FileSystem, dir: string, snapshot: Snapshot, origin: SnapshotOrigin): number {
  const { index, term, confState } = snapshot.metadata;
  const meta = Buffer.from(JSON.stringify({ index, term, origin, confState }), 'utf8');
  const bytes = Buffer.allocUnsafe(HEADER_BYTES + meta.length + snapshot.data.byteLength);
  MAGIC.copy(bytes, 0);
  bytes.writeUInt32LE(SNAPSHOT_FORMAT_VERSION, 8);
  bytes.writeUInt32LE(meta.length, 16);
  meta.copy(bytes, HEADER_BYTES);
  bytes.set(snapshot.data, HEADER_BYTES + meta.length);
  bytes.writeUInt32LE(crc32(bytes.subarray(16)), 12);
  return writeFileAtomically(fs, dir, snapshotFileName(index), bytes);
}

/**
 * Writes `snapshot` durably like {@link writeSnapshotFile}, but a chunk at a
 * time, awaiting `pause()` between chunks and the fdatasync off the event
 * loop, so that a large snapshot never blocks the process for more than one
 * chunk's checksum and write. Returns the number of fsyncs it took.
 */
export async function writeSnapshotFileChunked(
  fs: FileSystem,
  dir: string,
  snapshot: Snapshot,
  origin: SnapshotOrigin,
  chunkBytes: number,
  pause: () => Promise<void>,
): Promise<number> {
  const { index, term, confState } = snapshot.metadata;
  const meta = Buffer.from(JSON.stringify({ index, term, origin, confState }), 'utf8');
  const head = Buffer.alloc(HEADER_BYTES + meta.length);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(SNAPSHOT_FORMAT_VERSION, 8);
  head.writeUInt32LE(meta.length, 16);
  meta.copy(head, HEADER_BYTES);
  const target = join(dir, snapshotFileName(index));
  const temp = `${target}${TEMP_SUFFIX}`;
  const fd = fs.openSync(temp, 'w');
  try {
    writeAt(fs, fd, head, 0);
    let crc = crc32(head.subarray(16));
    const data = snapshot.data;
    for (let at = 0; at < data.byteLength; at += chunkBytes) {
      const chunk = data.subarray(at, Math.min(at + chunkBytes, data.byteLength));
      crc = crc32(chunk, crc);
      writeAt(fs, fd, chunk, head.length + at);
      await pause();
    }
    const checksum = Buffer.alloc(4);
    checksum.writeUInt32LE(crc, 0);
    writeAt(fs, fd, checksum, 12);
    await fs.fdatasync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, target);
  fs.fsyncDirectorySync(dir);
  return 2;
}

function writeAt(fs: FileSystem, fd: number, bytes: Uint8Array, position: number): void {
  let written = 0;
  while (written < bytes.byteLength) {
    written += fs.writeSync(fd, bytes, written, bytes.byteLength - written, position + written);
  }
}

function snapshotIndexes(fs: FileSystem, dir: string): number[] {
  const indexes: number[] = [];
  for (const name of withIo('listing', dir, () => fs.readdirSync(dir))) {
    const match = NAME.exec(name);
    if (match !== null) indexes.push(Number.parseInt(match[1]!, 16));
  }
  return indexes.sort((a, b) => a - b);
}

/**
 * Loads the newest snapshot, or undefined when there is none. A damaged
 * newest snapshot is an error rather than a reason to fall back to an older
 * one: the log may already have been compacted past the older one.
 */
export function loadLatestSnapshot(fs: FileSystem, dir: string): StoredSnapshot | undefined {
  const indexes = snapshotIndexes(fs, dir);
  const index = indexes[indexes.length - 1];
  if (index === undefined) return undefined;
  const file = join(dir, snapshotFileName(index));
  const bytes = withIo('reading snapshot', file, () => fs.readFileSync(file));
  if (bytes.length < HEADER_BYTES) throw new StorageCorruptionError(file, 0, 'snapshot file shorter than its header');
  if (!bytes.subarray(0, 8).equals(MAGIC)) throw new StorageCorruptionError(file, 0, 'not a Synod snapshot (bad magic)');
  const version = bytes.readUInt32LE(8);
  if (version !== SNAPSHOT_FORMAT_VERSION) {
    throw new StorageCorruptionError(
      file,
      8,
      `unsupported snapshot format version ${version} (this build reads version ${SNAPSHOT_FORMAT_VERSION})`,
    );
  }
  if (crc32(bytes.subarray(16)) !== bytes.readUInt32LE(12)) {
    throw new StorageCorruptionError(file, 12, 'snapshot checksum mismatch');
  }
  const metaLength = bytes.readUInt32LE(16);
  if (HEADER_BYTES + metaLength > bytes.length) {
    throw new StorageCorruptionError(file, 16, 'snapshot metadata length past the end of the file');
  }
  const meta = parseMetadata(file, bytes.toString('utf8', HEADER_BYTES, HEADER_BYTES + metaLength));
  if (meta.index !== index) {
    throw new StorageCorruptionError(file, HEADER_BYTES, `snapshot says index ${meta.index}, its file name ${index}`);
  }
  const data = new Uint8Array(bytes.length - HEADER_BYTES - metaLength);
  data.set(bytes.subarray(HEADER_BYTES + metaLength));
  return {
    snapshot: { metadata: { index: meta.index, term: meta.term, confState: meta.confState }, data },
    origin: meta.origin,
    file,
  };
}

/** Deletes all but the newest `keep` snapshot files. */
export function pruneSnapshots(fs: FileSystem, dir: string, keep: number): void {
  const indexes = snapshotIndexes(fs, dir);
  for (const index of indexes.slice(0, Math.max(0, indexes.length - keep))) {
    fs.unlinkSync(join(dir, snapshotFileName(index)));
  }
}

interface Metadata {
  readonly index: number;
  readonly term: number;
  readonly origin: SnapshotOrigin;
  readonly confState: ConfState;
}

function parseMetadata(file: string, text: string): Metadata {
  const fail = (reason: string): never => {
    throw new StorageCorruptionError(file, HEADER_BYTES, `snapshot metadata ${reason}`);
  };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail('is not JSON');
  }
  if (typeof value !== 'object' || value === null) return fail('is not an object');
  const record = value as Record<string, unknown>;
  const { index, term, origin, confState } = record;
  if (!isIndex(index) || !isIndex(term)) return fail('has a bad index or term');
  if (origin !== 'applied' && origin !== 'created') return fail('has a bad origin');
  if (typeof confState !== 'object' || confState === null) return fail('has no confState');
  const conf = confState as Record<string, unknown>;
  const { voters, learners, votersOutgoing, autoLeave } = conf;
  if (!isIdList(voters) || !isIdList(learners) || !isIdList(votersOutgoing) || typeof autoLeave !== 'boolean') {
    return fail('has a malformed confState');
  }
  return { index, term, origin, confState: { voters, learners, votersOutgoing, autoLeave } };
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isIdList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}
