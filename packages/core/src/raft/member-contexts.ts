import { CorruptionError } from '../errors/errors.js';
import type { NodeId } from '../transport/transport.js';
import type { ConfChangeSingle } from './confchange/conf-change.js';
import type { ConfState } from './types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The latest conf-change context of every member (see
 * `ConfChangeSingle.context`): replicated through the log with the change
 * that carried it, and through RaftNode's snapshots, so every replica —
 * one that restarts from a snapshot or joins long after the change
 * included — holds the same table at the same index.
 */
export class MemberContexts {
  readonly #byMember = new Map<NodeId, Uint8Array>();

  get(id: NodeId): Uint8Array | undefined {
    return this.#byMember.get(id);
  }

  /** Every member's context, by id. */
  entries(): ReadonlyMap<NodeId, Uint8Array> {
    return new Map(this.#byMember);
  }

  /** Applies a committed change: a step with a context records it; members the result leaves out are forgotten. */
  apply(changes: readonly ConfChangeSingle[], result: ConfState): void {
    for (const change of changes) {
      if (change.type !== 'remove' && change.context !== undefined && change.context.length > 0) this.#byMember.set(change.node, change.context);
    }
    const members = new Set([...result.voters, ...result.learners, ...result.votersOutgoing]);
    for (const id of [...this.#byMember.keys()]) if (!members.has(id)) this.#byMember.delete(id);
  }

  /** `u16 count, then per member: u16 id length, id (UTF-8), u16 context length, context`; empty when there are none. */
  encode(): Uint8Array {
    if (this.#byMember.size === 0) return new Uint8Array(0);
    const parts: number[] = [];
    const u16 = (n: number): void => void parts.push(n >>> 8, n & 0xff);
    u16(this.#byMember.size);
    for (const [id, context] of [...this.#byMember].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const idBytes = encoder.encode(id);
      u16(idBytes.length);
      parts.push(...idBytes);
      u16(context.length);
      parts.push(...context);
    }
    return Uint8Array.from(parts);
  }

  /** Replaces the table with an encoded one (empty input: no contexts). @throws CorruptionError for malformed input */
  restore(data: Uint8Array | undefined): void {
    const next = new Map<NodeId, Uint8Array>();
    if (data !== undefined && data.length > 0) {
      let pos = 0;
      const u16 = (): number => {
        if (pos + 2 > data.length) throw new CorruptionError('truncated member contexts in a snapshot');
        const v = (data[pos]! << 8) | data[pos + 1]!;
        pos += 2;
        return v;
      };
      const bytes = (n: number): Uint8Array => {
        if (pos + n > data.length) throw new CorruptionError('truncated member contexts in a snapshot');
        const out = data.slice(pos, pos + n);
        pos += n;
        return out;
      };
      const count = u16();
      for (let i = 0; i < count; i++) {
        let id: string;
        try {
          id = decoder.decode(bytes(u16()));
        } catch (error) {
          if (error instanceof CorruptionError) throw error;
          throw new CorruptionError('a member id in a snapshot is not UTF-8', { cause: error });
        }
        next.set(id, bytes(u16()));
      }
      if (pos !== data.length) throw new CorruptionError('trailing bytes after the member contexts in a snapshot');
    }
    this.#byMember.clear();
    for (const [id, context] of next) this.#byMember.set(id, context);
  }
}
