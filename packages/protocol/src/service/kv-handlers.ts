import {
  InvalidArgumentError,
  encodeKvCommand,
  type KeyValue,
  type KvCasCondition,
  type KvCommand,
  type KvResult,
  type KvSession,
  type KvStateMachine,
  type ReadConsistency,
} from '@synod/core';
import * as kvV1 from '../gen/synod/kv/v1/kv.js';
import { ServiceCallError, SessionExpiredError, StaleSequenceError } from './errors.js';
import type { KvNode } from './kv-node.js';
import { WriteBatcher } from './write-batcher.js';

/**
 * The node a Synod server runs, Raft or Multi-Paxos (see {@link KvNode}).
 * @deprecated The name predates Multi-Paxos serving; use KvNode.
 */
export type KvRaftNode = KvNode;

/** How long one call may wait for consensus, and what ends it early (the caller gave up). */
export interface CallWait {
  readonly signal?: AbortSignal;
  readonly timeoutMs: number;
}

/** The transport-neutral `synod.kv.v1.KV` unary operations of one node. */
export interface KvHandlers {
  put(request: kvV1.PutRequest, wait: CallWait): Promise<kvV1.PutResponse>;
  get(request: kvV1.GetRequest, wait: CallWait): Promise<kvV1.GetResponse>;
  delete(request: kvV1.DeleteRequest, wait: CallWait): Promise<kvV1.DeleteResponse>;
  compareAndSwap(request: kvV1.CompareAndSwapRequest, wait: CallWait): Promise<kvV1.CompareAndSwapResponse>;
  /** The response header at `revision` (the store's current one by default). */
  header(revision?: number): kvV1.ResponseHeader;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The store holds strings, so values on the wire must be UTF-8 text. */
function textOf(bytes: Uint8Array, field: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new InvalidArgumentError(`${field} must be UTF-8 text (the KV store holds strings)`);
  }
}

function sessionOf(session: kvV1.Session | undefined): KvSession | undefined {
  if (session === undefined) return undefined;
  if (session.clientId === '') throw new InvalidArgumentError('session.client_id must not be empty');
  if (session.sequence < 1n || session.sequence > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new InvalidArgumentError(`session.sequence must be between 1 and 2^53-1, got ${session.sequence}`);
  }
  return { clientId: session.clientId, sequence: Number(session.sequence) };
}

/** A store entry as the wire's KeyValue. */
export function wireKv(kv: KeyValue | undefined): kvV1.KeyValue | undefined {
  if (kv === undefined) return undefined;
  return {
    key: kv.key,
    value: Buffer.from(kv.value, 'utf8'),
    createRevision: BigInt(kv.createRevision),
    modRevision: BigInt(kv.modRevision),
    version: BigInt(kv.version),
  };
}

function consistencyOf(consistency: kvV1.Consistency): ReadConsistency {
  switch (consistency) {
    case kvV1.Consistency.CONSISTENCY_SERIALIZABLE:
      return 'serializable';
    case kvV1.Consistency.CONSISTENCY_LEASE:
      return 'lease';
    case kvV1.Consistency.CONSISTENCY_LINEARIZABLE:
    case kvV1.Consistency.CONSISTENCY_UNSPECIFIED:
      return 'linearizable';
    default:
      throw new InvalidArgumentError(`unknown consistency ${String(consistency)}`);
  }
}

/** Turns the results that are not a success into typed errors. */
function expectResult<T extends KvResult['type']>(result: KvResult, type: T): Extract<KvResult, { type: T }> {
  if (result.type === type) return result as Extract<KvResult, { type: T }>;
  switch (result.type) {
    case 'stale-sequence':
      throw new StaleSequenceError(result.clientId, result.sequence, result.lastSequence);
    case 'session-expired':
      throw new SessionExpiredError(result.clientId, result.sequence);
    case 'rejected':
      throw new ServiceCallError('KV_REJECTED', result.message);
    default:
      throw new Error(`unexpected KV result '${result.type}' for a ${type}`);
  }
}

function casCondition(condition: kvV1.CompareAndSwapRequest['expected']): KvCasCondition {
  if (condition === undefined) throw new InvalidArgumentError('compare-and-swap needs one of expected_value, expect_absent, expected_mod_revision');
  if (condition.$case === 'expectedValue') return { kind: 'value', value: textOf(condition.value, 'expected_value') };
  if (condition.$case === 'expectAbsent') {
    if (!condition.value) throw new InvalidArgumentError('expect_absent must be true when set');
    return { kind: 'absent' };
  }
  if (condition.value > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidArgumentError('expected_mod_revision is too large');
  return { kind: 'mod-revision', modRevision: Number(condition.value) };
}

/**
 * The `synod.kv.v1.KV` unary operations of one node, whatever carries them
 * (gRPC, NATS request/reply). Any node answers: writes and linearizable
 * reads on a follower go through its RaftNode, which forwards them to the
 * leader (proposal forwarding and ReadIndex) and answers once the entry is
 * applied here. Failures are thrown as typed errors; the transport maps them
 * with `serviceFailure`. The writes of one turn of the event loop go to the
 * node as one proposal (see {@link WriteBatcher}).
 *
 * @example
 * ```ts
 * const kv = createKvHandlers(node, store);
 * const response = await kv.put({ key: 'a', value: Buffer.from('1'), session: undefined }, { timeoutMs: 5_000 });
 * ```
 */
export function createKvHandlers(node: KvRaftNode, store: KvStateMachine): KvHandlers {
  const header = (revision?: number): kvV1.ResponseHeader => {
    // Not node.status(): that builds the whole status (the leader's
    // progress of every follower) for two fields, on every call.
    return {
      memberId: node.id,
      revision: BigInt(revision ?? store.revision),
      raftTerm: BigInt(node.term),
      leaderHint: node.leader ?? '',
    };
  };
  const writes = new WriteBatcher(node);
  const propose = async (command: KvCommand, wait: CallWait): Promise<KvResult> => {
    store.validate(command);
    return writes.submit(encodeKvCommand(command), wait);
  };
  return {
    header,
    async put(request, wait) {
      const session = sessionOf(request.session);
      const result = expectResult(await propose({ type: 'put', key: request.key, value: textOf(request.value, 'value'), session }, wait), 'put');
      return { header: header(result.revision), prevKv: wireKv(result.prevKv) };
    },
    async get(request, wait) {
      const consistency = consistencyOf(request.consistency);
      const result = await node.read({ type: 'get', key: request.key }, { consistency, ...wait });
      if (result.type !== 'get') throw new Error(`unexpected query result '${result.type}'`);
      return { header: header(result.revision), kv: wireKv(result.kv) };
    },
    async delete(request, wait) {
      const session = sessionOf(request.session);
      const result = expectResult(await propose({ type: 'delete', key: request.key, session }, wait), 'delete');
      return { header: header(result.revision), deleted: result.deleted, prevKv: wireKv(result.prevKv) };
    },
    async compareAndSwap(request, wait) {
      const session = sessionOf(request.session);
      const expected = casCondition(request.expected);
      const value = textOf(request.newValue, 'new_value');
      const result = expectResult(await propose({ type: 'cas', key: request.key, expected, value, session }, wait), 'cas');
      return { header: header(result.revision), succeeded: result.succeeded, kv: wireKv(result.kv) };
    },
  };
}
