import { CorruptionError, InvalidArgumentError } from '../errors/errors.js';
import { ByteReader, ByteWriter } from './binary.js';
import type { KeyValue, KvEvent, KvRejectReason, KvResult } from './types.js';

/**
 * Binary encoding of KV results, key-values and events. The state machine
 * needs it to put cached session results and the watch history into
 * snapshots; drivers may use it to ship results between processes. The layout
 * mirrors the command codec: a version byte, a tag, then the fields.
 */
export const KV_RESULT_FORMAT_VERSION = 1;

const RESULT_TAGS = {
  put: 1,
  delete: 2,
  cas: 3,
  get: 4,
  'expire-sessions': 5,
  noop: 6,
  'stale-sequence': 7,
  'session-expired': 8,
  rejected: 9,
  batch: 10,
} as const satisfies Record<KvResult['type'], number>;

const REJECT_REASONS: readonly KvRejectReason[] = [
  'malformed',
  'empty-key',
  'key-too-large',
  'value-too-large',
  'client-id-too-large',
];

/** @internal */
export function writeKeyValue(w: ByteWriter, kv: KeyValue): void {
  w.string(kv.key, 'kv.key').string(kv.value, 'kv.value');
  w.uint(kv.createRevision, 'kv.createRevision').uint(kv.modRevision, 'kv.modRevision').uint(kv.version, 'kv.version');
}

/** @internal Reads a key-value and checks the invariants every stored one satisfies. */
export function readKeyValue(r: ByteReader): KeyValue {
  const key = r.string();
  const value = r.string();
  const createRevision = r.uint();
  const modRevision = r.uint();
  const version = r.uint();
  if (createRevision < 1 || modRevision < createRevision || version < 1) {
    r.fail(`inconsistent revisions for key (create ${createRevision}, mod ${modRevision}, version ${version})`);
  }
  return Object.freeze({ key, value, createRevision, modRevision, version });
}

function writeOptionalKeyValue(w: ByteWriter, kv: KeyValue | undefined): void {
  w.bool(kv !== undefined);
  if (kv !== undefined) writeKeyValue(w, kv);
}

function readOptionalKeyValue(r: ByteReader): KeyValue | undefined {
  return r.bool() ? readKeyValue(r) : undefined;
}

/** @internal */
export function writeResult(w: ByteWriter, result: KvResult): void {
  w.u8(RESULT_TAGS[result.type]);
  switch (result.type) {
    case 'put':
      w.uint(result.revision, 'revision');
      writeKeyValue(w, result.kv);
      writeOptionalKeyValue(w, result.prevKv);
      return;
    case 'delete':
      w.uint(result.revision, 'revision').bool(result.deleted);
      writeOptionalKeyValue(w, result.prevKv);
      return;
    case 'cas':
      w.uint(result.revision, 'revision').bool(result.succeeded);
      writeOptionalKeyValue(w, result.kv);
      return;
    case 'get':
      w.uint(result.revision, 'revision');
      writeOptionalKeyValue(w, result.kv);
      return;
    case 'expire-sessions':
      w.uint(result.revision, 'revision').uint(result.expired.length, 'expired.length');
      for (const id of result.expired) w.string(id, 'expired[]');
      return;
    case 'noop':
      w.uint(result.revision, 'revision');
      return;
    case 'stale-sequence':
      w.string(result.clientId, 'clientId').uint(result.sequence, 'sequence').uint(result.lastSequence, 'lastSequence');
      return;
    case 'session-expired':
      w.string(result.clientId, 'clientId').uint(result.sequence, 'sequence');
      return;
    case 'rejected':
      w.u8(REJECT_REASONS.indexOf(result.reason)).string(result.message, 'message');
      return;
    case 'batch':
      w.uint(result.revision, 'revision').uint(result.results.length, 'results.length');
      for (const part of result.results) {
        if (part.type === 'batch') throw new InvalidArgumentError('a batch result cannot hold a batch result');
        writeResult(w, part);
      }
      return;
    default:
      throw new InvalidArgumentError(`unknown KV result type ${JSON.stringify((result as { type: unknown }).type)}`);
  }
}

/** @internal */
export function readResult(r: ByteReader): KvResult {
  const tag = r.u8();
  switch (tag) {
    case RESULT_TAGS.put: {
      const revision = r.uint();
      const kv = readKeyValue(r);
      return Object.freeze({ type: 'put', revision, kv, prevKv: readOptionalKeyValue(r) });
    }
    case RESULT_TAGS.delete: {
      const revision = r.uint();
      const deleted = r.bool();
      return Object.freeze({ type: 'delete', revision, deleted, prevKv: readOptionalKeyValue(r) });
    }
    case RESULT_TAGS.cas: {
      const revision = r.uint();
      const succeeded = r.bool();
      return Object.freeze({ type: 'cas', revision, succeeded, kv: readOptionalKeyValue(r) });
    }
    case RESULT_TAGS.get: {
      const revision = r.uint();
      return Object.freeze({ type: 'get', revision, kv: readOptionalKeyValue(r) });
    }
    case RESULT_TAGS['expire-sessions']: {
      const revision = r.uint();
      const count = r.uint();
      // Every id takes at least one byte, so a larger count is garbage; checking
      // first avoids looping (or allocating) on a hostile length.
      if (count > r.remaining) r.fail(`expired count ${count} overruns the input`);
      const expired: string[] = [];
      for (let i = 0; i < count; i++) expired.push(r.string());
      return Object.freeze({ type: 'expire-sessions', revision, expired: Object.freeze(expired) });
    }
    case RESULT_TAGS.noop:
      return Object.freeze({ type: 'noop', revision: r.uint() });
    case RESULT_TAGS['stale-sequence']: {
      const clientId = r.string();
      const sequence = r.uint();
      const lastSequence = r.uint();
      return Object.freeze({ type: 'stale-sequence', clientId, sequence, lastSequence });
    }
    case RESULT_TAGS['session-expired']: {
      const clientId = r.string();
      return Object.freeze({ type: 'session-expired', clientId, sequence: r.uint() });
    }
    case RESULT_TAGS.rejected: {
      const reason = REJECT_REASONS[r.u8()];
      if (reason === undefined) r.fail('unknown reject reason');
      return Object.freeze({ type: 'rejected', reason, message: r.string() });
    }
    case RESULT_TAGS.batch: {
      const revision = r.uint();
      const count = r.uint();
      if (count > r.remaining) r.fail(`batch result count ${count} overruns the input`);
      const results: KvResult[] = [];
      for (let i = 0; i < count; i++) {
        const part = readResult(r);
        if (part.type === 'batch') r.fail('a batch result cannot hold a batch result');
        results.push(part);
      }
      return Object.freeze({ type: 'batch', revision, results: Object.freeze(results) });
    }
    default:
      return r.fail(`unknown result tag ${tag}`);
  }
}

/** @internal */
export function writeEvent(w: ByteWriter, event: KvEvent): void {
  if (event.type === 'put') {
    w.u8(1).uint(event.revision, 'revision');
    writeKeyValue(w, event.kv);
    writeOptionalKeyValue(w, event.prevKv);
  } else {
    w.u8(2).uint(event.revision, 'revision').string(event.key, 'key');
    writeKeyValue(w, event.prevKv);
  }
}

/** @internal */
export function readEvent(r: ByteReader): KvEvent {
  const tag = r.u8();
  const revision = r.uint();
  if (tag === 1) {
    const kv = readKeyValue(r);
    return Object.freeze({ type: 'put', revision, kv, prevKv: readOptionalKeyValue(r) });
  }
  if (tag === 2) {
    const key = r.string();
    return Object.freeze({ type: 'delete', revision, key, prevKv: readKeyValue(r) });
  }
  return r.fail(`unknown event tag ${tag}`);
}

/**
 * Encodes a result returned by {@link KvStateMachine.apply}.
 *
 * @example
 * ```ts
 * const bytes = encodeKvResult(machine.apply(command, { index: 7, term: 2 }));
 * const same = decodeKvResult(bytes);
 * ```
 */
export function encodeKvResult(result: KvResult): Uint8Array {
  const w = new ByteWriter().u8(KV_RESULT_FORMAT_VERSION);
  writeResult(w, result);
  return w.finish();
}

/**
 * Decodes bytes written by {@link encodeKvResult}; throws `CorruptionError`
 * for anything else.
 *
 * @example
 * ```ts
 * const result = decodeKvResult(bytes);
 * if (result.type === 'cas' && !result.succeeded) retry();
 * ```
 */
export function decodeKvResult(bytes: Uint8Array): KvResult {
  if (!(bytes instanceof Uint8Array)) throw new CorruptionError('KV result: not a Uint8Array');
  const r = new ByteReader(bytes, 'KV result');
  const version = r.u8();
  if (version !== KV_RESULT_FORMAT_VERSION) r.fail(`unsupported format version ${version}`);
  const result = readResult(r);
  r.end();
  return result;
}
