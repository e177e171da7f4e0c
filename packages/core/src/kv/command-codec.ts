import { CorruptionError, InvalidArgumentError } from '../errors/errors.js';
import type { CommandCodec } from '../state-machine/state-machine.js';
import { ByteReader, ByteWriter } from './binary.js';
import type { KvBatchableCommand, KvCasCondition, KvCommand, KvSession } from './types.js';

/**
 * Binary encoding of KV commands for the consensus log.
 *
 * Layout (format version 1):
 *
 * ```
 * u8 version (= 1)
 * u8 op        1 put | 2 delete | 3 cas | 4 get | 5 expire-sessions | 6 batch
 * u8 flags     bit 0: a session follows; other bits must be 0 (always 0 for a batch)
 * [session]    string clientId, uint sequence (>= 1)
 * put          string key, string value
 * delete       string key
 * cas          string key, u8 condition (0 absent | 1 value | 2 mod-revision),
 *              [string expected value | uint modRevision], string value
 * get          string key
 * expire       uint now
 * batch        uint count (>= 1), then count × (uint length, a put, delete or
 *              cas command in this layout, version byte included)
 * ```
 *
 * `uint` is an unsigned LEB128 varint (minimal form, at most 2^53 - 1) and
 * `string` is a uint byte length followed by UTF-8. Binary rather than JSON
 * because commands are on the hot path of every replica and a strict binary
 * reader validates structure as it goes; the leading version byte lets a later
 * format coexist with entries already in the log.
 */
export const KV_COMMAND_FORMAT_VERSION = 1;

const OP_PUT = 1;
const OP_DELETE = 2;
const OP_CAS = 3;
const OP_GET = 4;
const OP_EXPIRE = 5;
const OP_BATCH = 6;

const FLAG_SESSION = 0x01;

const COND_ABSENT = 0;
const COND_VALUE = 1;
const COND_MOD_REVISION = 2;

function writeSession(w: ByteWriter, session: KvSession | undefined): void {
  if (session === undefined) return;
  w.string(session.clientId, 'session.clientId');
  if (!Number.isSafeInteger(session.sequence) || session.sequence < 1) {
    throw new InvalidArgumentError(`session.sequence must be a positive safe integer, got ${String(session.sequence)}`);
  }
  w.uint(session.sequence, 'session.sequence');
}

/**
 * Encodes a command for the log. Throws `InvalidArgumentError` for a command
 * that has no encoding (unknown type, lone surrogates in a string, a sequence
 * below 1, a negative or fractional number). Size limits are the state
 * machine's business; see {@link KvStateMachine.validate}.
 *
 * @example
 * ```ts
 * const bytes = encodeKvCommand({
 *   type: 'cas',
 *   key: 'leader',
 *   expected: { kind: 'absent' },
 *   value: 'n1',
 *   session: { clientId: 'c-42', sequence: 7 },
 * });
 * const result = await node.propose(bytes);
 * ```
 */
export function encodeKvCommand(command: KvCommand): Uint8Array {
  const w = new ByteWriter();
  w.u8(KV_COMMAND_FORMAT_VERSION);
  switch (command.type) {
    case 'put':
      w.u8(OP_PUT).u8(command.session ? FLAG_SESSION : 0);
      writeSession(w, command.session);
      w.string(command.key, 'key').string(command.value, 'value');
      break;
    case 'delete':
      w.u8(OP_DELETE).u8(command.session ? FLAG_SESSION : 0);
      writeSession(w, command.session);
      w.string(command.key, 'key');
      break;
    case 'cas':
      w.u8(OP_CAS).u8(command.session ? FLAG_SESSION : 0);
      writeSession(w, command.session);
      w.string(command.key, 'key');
      writeCondition(w, command.expected);
      w.string(command.value, 'value');
      break;
    case 'get':
      w.u8(OP_GET).u8(command.session ? FLAG_SESSION : 0);
      writeSession(w, command.session);
      w.string(command.key, 'key');
      break;
    case 'expire-sessions':
      w.u8(OP_EXPIRE).u8(0);
      w.uint(command.now, 'now');
      break;
    case 'batch':
      return encodeBatch(command.commands);
    default:
      throw new InvalidArgumentError(`unknown KV command type ${JSON.stringify((command as { type: unknown }).type)}`);
  }
  return w.finish();
}

/** The encoding of a batch of the given commands; see {@link encodeKvCommandBatch}. */
function encodeBatch(commands: readonly KvBatchableCommand[]): Uint8Array {
  if (!Array.isArray(commands) || commands.length === 0) throw new InvalidArgumentError('a batch needs at least one command');
  const encoded = commands.map((command) => {
    if (command?.type !== 'put' && command?.type !== 'delete' && command?.type !== 'cas') {
      throw new InvalidArgumentError(`a batch holds puts, deletes and compare-and-swaps, not ${JSON.stringify((command as { type?: unknown })?.type)}`);
    }
    return encodeKvCommand(command);
  });
  return encodeKvCommandBatch(encoded);
}

/**
 * A batch command from commands already encoded by {@link encodeKvCommand}
 * (puts, deletes and compare-and-swaps), without decoding them again: a
 * server that encoded each request as it arrived folds them into one entry.
 * The caller vouches for the parts; `apply` rejects a batch whose parts are
 * not writes as malformed, on every replica alike.
 *
 * @example
 * ```ts
 * const batch = encodeKvCommandBatch([encodeKvCommand({ type: 'put', key: 'a', value: '1' }), encodeKvCommand({ type: 'delete', key: 'b' })]);
 * const result = await node.propose(batch); // { type: 'batch', results: [put result, delete result] }
 * ```
 */
export function encodeKvCommandBatch(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 0) throw new InvalidArgumentError('a batch needs at least one command');
  const w = new ByteWriter();
  w.u8(KV_COMMAND_FORMAT_VERSION).u8(OP_BATCH).u8(0).uint(parts.length, 'batch.count');
  for (const part of parts) w.uint(part.byteLength, 'batch.length').bytes(part);
  return w.finish();
}

function writeCondition(w: ByteWriter, expected: KvCasCondition): void {
  switch (expected.kind) {
    case 'absent':
      w.u8(COND_ABSENT);
      return;
    case 'value':
      w.u8(COND_VALUE).string(expected.value, 'expected.value');
      return;
    case 'mod-revision':
      w.u8(COND_MOD_REVISION).uint(expected.modRevision, 'expected.modRevision');
      return;
    default:
      throw new InvalidArgumentError(
        `unknown compare-and-swap condition ${JSON.stringify((expected as { kind: unknown }).kind)}`,
      );
  }
}

/**
 * Decodes a command written by {@link encodeKvCommand}. Throws
 * `CorruptionError` for anything else: an unknown version or op, unknown flag
 * bits, truncated input, invalid UTF-8, trailing bytes. It never throws any
 * other kind of error, so it is safe on bytes from the network.
 *
 * @example
 * ```ts
 * try {
 *   const command = decodeKvCommand(entry.data);
 * } catch (err) {
 *   if (err instanceof CorruptionError) log.warn('bad entry', err);
 * }
 * ```
 */
export function decodeKvCommand(bytes: Uint8Array): KvCommand {
  if (!(bytes instanceof Uint8Array)) throw new CorruptionError('KV command: not a Uint8Array');
  const r = new ByteReader(bytes, 'KV command');
  const version = r.u8();
  if (version !== KV_COMMAND_FORMAT_VERSION) r.fail(`unsupported format version ${version}`);
  const op = r.u8();
  const flags = r.u8();
  if ((flags & ~FLAG_SESSION) !== 0) r.fail(`unknown flags 0x${flags.toString(16)}`);
  if ((op === OP_EXPIRE || op === OP_BATCH) && flags !== 0) r.fail(`${op === OP_EXPIRE ? 'expire-sessions' : 'a batch'} cannot carry a session`);
  let session: KvSession | undefined;
  if (flags & FLAG_SESSION) {
    const clientId = r.string();
    const sequence = r.uint();
    if (sequence < 1) r.fail('session sequence must be at least 1');
    session = { clientId, sequence };
  }
  let command: KvCommand;
  switch (op) {
    case OP_PUT: {
      const key = r.string();
      const value = r.string();
      command = session ? { type: 'put', key, value, session } : { type: 'put', key, value };
      break;
    }
    case OP_DELETE: {
      const key = r.string();
      command = session ? { type: 'delete', key, session } : { type: 'delete', key };
      break;
    }
    case OP_CAS: {
      const key = r.string();
      const expected = readCondition(r);
      const value = r.string();
      command = session ? { type: 'cas', key, expected, value, session } : { type: 'cas', key, expected, value };
      break;
    }
    case OP_GET: {
      const key = r.string();
      command = session ? { type: 'get', key, session } : { type: 'get', key };
      break;
    }
    case OP_EXPIRE:
      command = { type: 'expire-sessions', now: r.uint() };
      break;
    case OP_BATCH: {
      const count = r.uint();
      // Every part takes at least two bytes: a larger count is garbage.
      if (count < 1 || count > r.remaining) r.fail(`batch count ${count} is out of range`);
      const commands: KvBatchableCommand[] = [];
      for (let i = 0; i < count; i++) {
        const part = decodeKvCommand(r.take(r.uint()));
        if (part.type !== 'put' && part.type !== 'delete' && part.type !== 'cas') return r.fail(`a batch cannot hold a ${part.type} command`);
        commands.push(part);
      }
      command = { type: 'batch', commands };
      break;
    }
    default:
      return r.fail(`unknown op ${op}`);
  }
  r.end();
  return command;
}

function readCondition(r: ByteReader): KvCasCondition {
  const kind = r.u8();
  switch (kind) {
    case COND_ABSENT:
      return { kind: 'absent' };
    case COND_VALUE:
      return { kind: 'value', value: r.string() };
    case COND_MOD_REVISION:
      return { kind: 'mod-revision', modRevision: r.uint() };
    default:
      return r.fail(`unknown compare-and-swap condition ${kind}`);
  }
}

/**
 * The KV command codec as a {@link CommandCodec}, for code that is generic
 * over state machines.
 *
 * @example
 * ```ts
 * const command = kvCommandCodec.decode(kvCommandCodec.encode({ type: 'get', key: 'a' }));
 * ```
 */
export const kvCommandCodec: CommandCodec<KvCommand> = Object.freeze({
  encode: encodeKvCommand,
  decode: decodeKvCommand,
});
