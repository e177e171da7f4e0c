import { CorruptionError } from '../errors/errors.js';
import { ByteReader, ByteWriter, crc32 } from './binary.js';
import { readEvent, readKeyValue, readResult, writeEvent, writeKeyValue, writeResult } from './result-codec.js';
import type { SessionRecord } from './session-table.js';
import type { KeyValue, KvEvent } from './types.js';

/** Everything a KV snapshot holds (internal). */
export interface KvSnapshotState {
  readonly revision: number;
  readonly appliedIndex: number;
  readonly logTime: number;
  readonly compactRevision: number;
  /** In ascending key order. */
  readonly kvs: readonly KeyValue[];
  /** In ascending client id order. */
  readonly sessions: readonly SessionRecord[];
  /** Revisions `compactRevision + 1 … revision`, oldest first. */
  readonly events: readonly KvEvent[];
}

/**
 * Snapshot layout (format version 1):
 *
 * ```
 * "SYKV" magic, u8 version (= 1)
 * uint revision, uint appliedIndex, uint logTime, uint compactRevision
 * uint n, n × key-value        (ascending keys)
 * uint n, n × session          (ascending client ids):
 *        string clientId, uint lastSequence, uint lastIndex, uint lastActive, result
 * uint n, n × event            (the watch history)
 * u32 CRC-32 of every byte before it
 * ```
 *
 * Keys and sessions are sorted so that equal states give equal bytes, whatever
 * order they were created in. The CRC catches damage that would still parse.
 */
const MAGIC = [0x53, 0x59, 0x4b, 0x56];
const VERSION = 1;

/** @internal */
export function encodeSnapshot(state: KvSnapshotState): Uint8Array {
  const w = new ByteWriter();
  for (const b of MAGIC) w.u8(b);
  w.u8(VERSION);
  w.uint(state.revision, 'revision')
    .uint(state.appliedIndex, 'appliedIndex')
    .uint(state.logTime, 'logTime')
    .uint(state.compactRevision, 'compactRevision');
  w.uint(state.kvs.length, 'kvs');
  for (const kv of state.kvs) writeKeyValue(w, kv);
  w.uint(state.sessions.length, 'sessions');
  for (const s of state.sessions) {
    w.string(s.clientId, 'clientId')
      .uint(s.lastSequence, 'lastSequence')
      .uint(s.lastIndex, 'lastIndex')
      .uint(s.lastActive, 'lastActive');
    writeResult(w, s.lastResult);
  }
  w.uint(state.events.length, 'events');
  for (const e of state.events) writeEvent(w, e);
  const body = w.finish();
  return withCrc(body);
}

function withCrc(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 4);
  out.set(body);
  new DataView(out.buffer).setUint32(body.length, crc32(body));
  return out;
}

/** @internal Decodes and validates a snapshot; throws CorruptionError for anything malformed. */
export function decodeSnapshot(bytes: Uint8Array): KvSnapshotState {
  if (!(bytes instanceof Uint8Array)) throw new CorruptionError('KV snapshot: not a Uint8Array');
  if (bytes.length < MAGIC.length + 1 + 4) throw new CorruptionError('KV snapshot: too short');
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw new CorruptionError('KV snapshot: bad magic');
  }
  if (bytes[MAGIC.length] !== VERSION) {
    throw new CorruptionError(`KV snapshot: unsupported format version ${bytes[MAGIC.length]}`);
  }
  const bodyLength = bytes.length - 4;
  const body = bytes.subarray(0, bodyLength);
  const stored = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(bodyLength);
  if (stored !== crc32(body)) throw new CorruptionError('KV snapshot: checksum mismatch');

  const r = new ByteReader(body, 'KV snapshot');
  for (let i = 0; i <= MAGIC.length; i++) r.u8();
  const revision = r.uint();
  const appliedIndex = r.uint();
  const logTime = r.uint();
  const compactRevision = r.uint();
  if (compactRevision > revision) r.fail(`compact revision ${compactRevision} is past revision ${revision}`);

  const kvs: KeyValue[] = [];
  const kvCount = count(r);
  for (let i = 0; i < kvCount; i++) {
    const kv = readKeyValue(r);
    const prev = kvs[kvs.length - 1];
    if (prev !== undefined && !(prev.key < kv.key)) r.fail('keys out of order');
    if (kv.modRevision > revision) r.fail(`key modified at ${kv.modRevision}, after revision ${revision}`);
    kvs.push(kv);
  }

  const sessions: SessionRecord[] = [];
  const sessionCount = count(r);
  for (let i = 0; i < sessionCount; i++) {
    const clientId = r.string();
    const lastSequence = r.uint();
    const lastIndex = r.uint();
    const lastActive = r.uint();
    const lastResult = readResult(r);
    const prev = sessions[sessions.length - 1];
    if (prev !== undefined && !(prev.clientId < clientId)) r.fail('sessions out of order');
    if (lastSequence < 1) r.fail('session sequence below 1');
    if (lastActive > logTime) r.fail('session active after the log time');
    sessions.push({ clientId, lastSequence, lastIndex, lastActive, lastResult });
  }

  const events: KvEvent[] = [];
  const eventCount = count(r);
  if (eventCount !== revision - compactRevision) {
    r.fail(`history of ${eventCount} events does not span revisions ${compactRevision + 1}..${revision}`);
  }
  for (let i = 0; i < eventCount; i++) {
    const event = readEvent(r);
    if (event.revision !== compactRevision + 1 + i) r.fail(`history event has revision ${event.revision}`);
    events.push(event);
  }
  r.end();
  return { revision, appliedIndex, logTime, compactRevision, kvs, sessions, events };
}

/** Reads a element count, rejecting counts that could not fit in the remaining bytes (each element takes at least one). */
function count(r: ByteReader): number {
  const n = r.uint();
  if (n > r.remaining) r.fail(`count ${n} overruns the input`);
  return n;
}
