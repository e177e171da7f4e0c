import { SynodError, type ConfState, type Logger, type NodeId } from '@synod/core';
import * as clusterV1 from '../gen/synod/cluster/v1/cluster.js';
import type { KvRaftNode } from './kv-handlers.js';

/** A member's conf-change context could not be read: the member stays unreachable until a change carries a good one. */
export class MemberContextError extends SynodError {
  readonly code = 'INVALID_MEMBER_CONTEXT';
  constructor(
    readonly memberId: NodeId,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The conf-change context a Synod server replicates when it adds a member:
 * a `synod.cluster.v1.Member` (id and address), so that clients in any
 * language can read it too.
 */
export function encodeMemberContext(member: { readonly id: NodeId; readonly address: string }): Uint8Array {
  return clusterV1.Member.encode({ id: member.id, address: member.address, learner: false }).finish();
}

/**
 * Reads a context written by {@link encodeMemberContext} for member `id`.
 *
 * @throws MemberContextError when the bytes are not a `Member`, or name another member
 */
export function decodeMemberContext(id: NodeId, context: Uint8Array): { readonly address: string } {
  let member: clusterV1.Member;
  try {
    member = clusterV1.Member.decode(context);
  } catch (error) {
    throw new MemberContextError(id, `the context replicated for member ${id} is not a synod.cluster.v1.Member`, { cause: error });
  }
  if (member.id !== id) throw new MemberContextError(id, `the context replicated for member ${id} names member '${member.id}'`);
  return { address: member.address };
}

/** Options of {@link MemberDirectory}. */
export interface MemberDirectoryOptions {
  readonly node: KvRaftNode;
  /** Addresses given at start-up (`--peers`), by id; the replicated ones take precedence. */
  readonly configured: ReadonlyMap<NodeId, string>;
  /** Called with every peer (configured ones and every member but this node) and its address, whenever that set changes. */
  readonly onPeers?: (peers: ReadonlyMap<NodeId, string>) => void;
  readonly logger?: Logger;
}

/**
 * Where each member of a Synod cluster is reached, whatever the transport:
 * the address replicated with the change that added it (RaftNode's member
 * context, in snapshots too), or the address configured at start-up. It
 * follows the configuration: when a member is added, every node learns its
 * address as it applies the change, and a node that restarts or joins later
 * learns it from its snapshot or log.
 *
 * @example
 * ```ts
 * const directory = new MemberDirectory({ node, configured: new Map([['n2', '10.0.0.2:7000']]), onPeers: (peers) => transport.setPeers(peers) });
 * directory.start();
 * directory.addressOf('n4'); // '10.0.0.4:7000' once n4 was added with that address
 * ```
 */
export class MemberDirectory {
  readonly #options: MemberDirectoryOptions;
  readonly #configured: Map<NodeId, string>;
  readonly #warned = new Set<string>();
  #peersKey = '';
  #unsubscribe: (() => void) | undefined;

  constructor(options: MemberDirectoryOptions) {
    this.#options = options;
    this.#configured = new Map(options.configured);
  }

  /** The member's address: replicated, else configured, else undefined. */
  addressOf(id: NodeId): string | undefined {
    const context = this.#options.node.memberContext?.(id);
    if (context !== undefined) {
      try {
        const { address } = decodeMemberContext(id, context);
        if (address !== '') return address;
      } catch (error) {
        this.#warnOnce(`${id}:${context.length}`, error);
      }
    }
    return this.#configured.get(id);
  }

  /** Replaces configured addresses (same meaning as at start-up). */
  setConfigured(addresses: ReadonlyMap<NodeId, string>): void {
    for (const [id, address] of addresses) this.#configured.set(id, address);
    this.#publish(this.#options.node.status().membership);
  }

  /** Every peer and its address: configured peers and every member but this node. */
  peers(conf: ConfState = this.#options.node.status().membership): Map<NodeId, string> {
    const self = this.#options.node.id;
    const ids = new Set<NodeId>([...this.#configured.keys(), ...conf.voters, ...conf.learners, ...conf.votersOutgoing]);
    ids.delete(self);
    const peers = new Map<NodeId, string>();
    for (const id of [...ids].sort()) peers.set(id, this.addressOf(id) ?? '');
    return peers;
  }

  /** Follows the node's configuration changes (and publishes the peers once now). */
  start(): void {
    this.#unsubscribe ??= this.#options.node.on('membership', ({ confState }) => this.#publish(confState));
    this.#publish(this.#options.node.status().membership);
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  #publish(conf: ConfState): void {
    const peers = this.peers(conf);
    const key = JSON.stringify([...peers]);
    if (key === this.#peersKey) return;
    this.#peersKey = key;
    this.#options.onPeers?.(peers);
  }

  #warnOnce(key: string, error: unknown): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#options.logger?.warn({ err: error }, 'a member context cannot be read; using the configured address');
  }
}
