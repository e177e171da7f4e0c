import { InvalidArgumentError } from '../../errors/errors.js';
import type { NodeId } from '../../transport/transport.js';
import type { ConfState } from '../types.js';
import { MAX_CONF_CHANGE_CONTEXT_BYTES, type ConfChange, type ConfChangeSingle, type ConfChangeTransition, type ConfChangeType } from './conf-change.js';
import { ConfChangeDecodeError } from './conf-change-errors.js';

/**
 * Binary layout of a `conf-change` entry's data (all integers big-endian):
 *
 * ```
 * u8  version (1 or 2)
 * u8  transition      0 auto, 1 simple, 2 implicit, 3 explicit-joint
 * u16 step count, then per step:  u8 type (0 add-voter, 1 add-learner, 2 promote, 3 remove), str node
 *                                 version 2 only: u16 context length + context bytes (0: none)
 * result ConfState:   list voters, list learners, list votersOutgoing, u8 autoLeave (0/1)
 * str  = u16 byte length + UTF-8;  list = u16 count + str…
 * ```
 *
 * The version byte lets a later layout coexist with entries already in logs
 * and snapshots: a change without contexts is still written as version 1,
 * byte for byte what earlier releases wrote. Decoding never trusts
 * lengths: malformed input raises {@link ConfChangeDecodeError}.
 */
export const CONF_CHANGE_VERSION = 2;

const transitions: readonly ConfChangeTransition[] = ['auto', 'simple', 'implicit', 'explicit-joint'];
const types: readonly ConfChangeType[] = ['add-voter', 'add-learner', 'promote', 'remove'];
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const withContexts = cc.changes.some((change) => change.context !== undefined && change.context.length > 0);
  const parts: number[] = [withContexts ? 2 : 1, transitions.indexOf(cc.transition)];
  if (parts[1]! < 0) throw new InvalidArgumentError(`unknown transition '${cc.transition}'`);
  const u16 = (n: number): void => {
    if (n > 0xffff) throw new InvalidArgumentError('conf change too large to encode');
    parts.push(n >>> 8, n & 0xff);
  };
  const str = (s: string): void => {
    const bytes = encoder.encode(s);
    u16(bytes.length);
    for (const b of bytes) parts.push(b);
  };
  const list = (ids: readonly NodeId[]): void => {
    u16(ids.length);
    for (const id of ids) str(id);
  };
  u16(cc.changes.length);
  for (const change of cc.changes) {
    const t = types.indexOf(change.type);
    if (t < 0) throw new InvalidArgumentError(`unknown change type '${change.type}'`);
    parts.push(t);
    str(change.node);
    if (withContexts) {
      const context = change.context ?? new Uint8Array(0);
      if (context.length > MAX_CONF_CHANGE_CONTEXT_BYTES) {
        throw new InvalidArgumentError(`the context of ${change.node} has ${context.length} bytes; at most ${MAX_CONF_CHANGE_CONTEXT_BYTES}`);
      }
      u16(context.length);
      for (const b of context) parts.push(b);
    }
  }
  list(cc.result.voters);
  list(cc.result.learners);
  list(cc.result.votersOutgoing);
  parts.push(cc.result.autoLeave ? 1 : 0);
  return Uint8Array.from(parts);
}

/** Decodes a conf-change entry's data. @throws ConfChangeDecodeError for anything malformed. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  let pos = 0;
  const need = (n: number): void => {
    if (pos + n > data.length) throw new ConfChangeDecodeError(`conf change truncated at byte ${pos}`);
  };
  const u8 = (): number => {
    need(1);
    return data[pos++]!;
  };
  const u16 = (): number => {
    need(2);
    const v = (data[pos]! << 8) | data[pos + 1]!;
    pos += 2;
    return v;
  };
  const str = (): string => {
    const len = u16();
    need(len);
    let s: string;
    try {
      s = decoder.decode(data.subarray(pos, pos + len));
    } catch (cause) {
      throw new ConfChangeDecodeError('node id is not valid UTF-8', { cause });
    }
    pos += len;
    if (s.length === 0) throw new ConfChangeDecodeError('empty node id');
    return s;
  };
  const list = (): NodeId[] => {
    const n = u16();
    const ids: NodeId[] = [];
    for (let i = 0; i < n; i++) ids.push(str());
    return ids;
  };
  const version = u8();
  if (version !== 1 && version !== 2) throw new ConfChangeDecodeError(`unsupported conf change version ${version}`);
  const transition = transitions[u8()];
  if (transition === undefined) throw new ConfChangeDecodeError('unknown transition');
  const count = u16();
  const changes: ConfChangeSingle[] = [];
  for (let i = 0; i < count; i++) {
    const type = types[u8()];
    if (type === undefined) throw new ConfChangeDecodeError('unknown change type');
    const node = str();
    if (version === 1) {
      changes.push({ type, node });
      continue;
    }
    const length = u16();
    if (length > MAX_CONF_CHANGE_CONTEXT_BYTES) throw new ConfChangeDecodeError(`a context of ${length} bytes (at most ${MAX_CONF_CHANGE_CONTEXT_BYTES})`);
    need(length);
    const context = data.slice(pos, pos + length);
    pos += length;
    changes.push(length === 0 ? { type, node } : { type, node, context });
  }
  const voters = list();
  const learners = list();
  const votersOutgoing = list();
  const leave = u8();
  if (leave > 1) throw new ConfChangeDecodeError('autoLeave must be 0 or 1');
  if (pos !== data.length) throw new ConfChangeDecodeError(`${data.length - pos} trailing bytes after the conf change`);
  const result: ConfState = { voters, learners, votersOutgoing, autoLeave: leave === 1 };
  return { changes, transition, result };
}
