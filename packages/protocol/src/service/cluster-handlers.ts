import { InvalidArgumentError, type ConfState, type NodeId, type RaftRole } from '@synod/core';
import * as clusterV1 from '../gen/synod/cluster/v1/cluster.js';
import { ServiceCallError } from './errors.js';
import type { KvRaftNode } from './kv-handlers.js';
import type { FaultHooks } from './link-faults.js';
import { encodeMemberContext } from './member-directory.js';

/** The transport-neutral `synod.cluster.v1.Cluster` operations of one node. */
export interface ClusterHandlers {
  status(request: clusterV1.StatusRequest): Promise<clusterV1.StatusResponse>;
  addMember(request: clusterV1.AddMemberRequest): Promise<clusterV1.AddMemberResponse>;
  removeMember(request: clusterV1.RemoveMemberRequest): Promise<clusterV1.RemoveMemberResponse>;
  promoteLearner(request: clusterV1.PromoteLearnerRequest): Promise<clusterV1.PromoteLearnerResponse>;
  transferLeadership(request: clusterV1.TransferLeadershipRequest): Promise<clusterV1.TransferLeadershipResponse>;
  setLinkFaults(request: clusterV1.SetLinkFaultsRequest): Promise<clusterV1.SetLinkFaultsResponse>;
}

/** What the Cluster handlers need from the server around them. */
export interface ClusterHandlersContext {
  readonly node: KvRaftNode;
  /** Longest a membership call waits, in ms. */
  readonly defaultTimeoutMs: number;
  /** A member's client endpoint, when known (gRPC `host:port`; empty over NATS). */
  addressOf(id: NodeId): string | undefined;
  /**
   * The address to replicate with an AddMember of `member`, checked for this
   * transport (a gRPC `host:port`; over NATS the id is the route and the
   * address may be empty). Throws InvalidArgumentError for a bad one. Without
   * it AddMember is refused with `addMemberRefusal`.
   */
  memberAddress?(member: { readonly id: NodeId; readonly address: string }): string;
  /** Why AddMember is refused when `memberAddress` is not given. @default a generic refusal */
  readonly addMemberRefusal?: string;
  /**
   * A digest of the replicated state and the log index it has applied, for
   * Status calls that ask for it: replicas at the same index must agree.
   */
  stateHash?(): { readonly hash: Uint8Array; readonly index: number };
  /** The node's failure-detector view of every member, for Status's `swim_members` (see {@link DetectionViewEntry}). */
  detectionView?(): readonly DetectionViewEntry[];
  /** The log index of the node's latest snapshot, for Status's `snapshot_index`. @default 0 */
  snapshotIndex?(): number;
  /**
   * Fault hooks for Cluster/SetLinkFaults (demos and tests only); without
   * them the call fails with FAILED_PRECONDITION (reason FAULT_HOOKS_OFF).
   */
  readonly faultHooks?: FaultHooks | undefined;
}

/** One member as the node's SWIM sees it, for Cluster/Status. */
export interface DetectionViewEntry {
  readonly id: NodeId;
  /** `alive`, `suspect`, `dead` or `left`. */
  readonly state: string;
  readonly incarnation: number;
  /** Phi of the traffic received from the member; undefined for the node itself or before any. */
  readonly phi?: number | undefined;
}

const ROLES: Readonly<Record<RaftRole, clusterV1.Role>> = {
  follower: clusterV1.Role.ROLE_FOLLOWER,
  'pre-candidate': clusterV1.Role.ROLE_PRE_CANDIDATE,
  candidate: clusterV1.Role.ROLE_CANDIDATE,
  leader: clusterV1.Role.ROLE_LEADER,
};

/**
 * The `synod.cluster.v1.Cluster` operations of one node: its status,
 * leadership transfer, and the membership calls, which run on the leader
 * (other nodes fail with NOT_LEADER and the hint). AddMember replicates the
 * new member's address with the conf change (its context: a
 * `synod.cluster.v1.Member`), so every node, including one that restarts or
 * joins later, can reach it; it is refused with UNIMPLEMENTED when the
 * transport gives no `memberAddress`. SetLinkFaults, for demos and tests,
 * works only with `faultHooks`.
 *
 * @example
 * ```ts
 * const cluster = createClusterHandlers({ node, defaultTimeoutMs: 5_000, addressOf: (id) => directory.addressOf(id), memberAddress: (m) => m.address });
 * const { leaderId } = await cluster.status({});
 * ```
 */
export function createClusterHandlers(context: ClusterHandlersContext): ClusterHandlers {
  const { node } = context;
  const members = (conf: ConfState): clusterV1.Member[] => [
    ...conf.voters.map((id) => ({ id, address: context.addressOf(id) ?? '', learner: false })),
    ...conf.learners.map((id) => ({ id, address: context.addressOf(id) ?? '', learner: true })),
  ];
  const options = { timeoutMs: context.defaultTimeoutMs };
  const nonEmpty = (id: string, field: string): string => {
    if (id === '') throw new InvalidArgumentError(`${field} must not be empty`);
    return id;
  };
  return {
    async status(request) {
      const status = node.status();
      // Taken in the same turn as status(), so nothing is applied in between.
      const state = request.includeStateHash ? context.stateHash?.() : undefined;
      return {
        memberId: node.id,
        role: ROLES[status.role],
        term: BigInt(status.term),
        leaderId: status.leader ?? '',
        commitIndex: BigInt(status.commitIndex),
        appliedIndex: BigInt(status.appliedIndex),
        lastIndex: BigInt(status.lastIndex),
        members: members(status.membership),
        stateHash: Buffer.from(state?.hash ?? []),
        stateIndex: BigInt(state?.index ?? 0),
        snapshotIndex: BigInt(context.snapshotIndex?.() ?? 0),
        swimMembers: (context.detectionView?.() ?? []).map((m) => ({
          id: m.id,
          state: m.state,
          incarnation: BigInt(m.incarnation),
          ...(m.phi !== undefined && Number.isFinite(m.phi) ? { phi: m.phi, phiKnown: true } : { phi: 0, phiKnown: false }),
        })),
      };
    },
    async addMember(request) {
      if (context.memberAddress === undefined) {
        throw new ServiceCallError('UNIMPLEMENTED', context.addMemberRefusal ?? 'AddMember is not supported by this server');
      }
      const { addVoter, addLearner, memberContext } = node;
      if (addVoter === undefined || addLearner === undefined || memberContext === undefined) {
        // Without replicated contexts the other members could not learn the new one's address.
        throw new ServiceCallError('UNIMPLEMENTED', 'AddMember needs a consensus node that replicates member addresses (Raft)');
      }
      const member = request.member;
      if (member === undefined) throw new InvalidArgumentError('member is required');
      const id = nonEmpty(member.id, 'member.id');
      const address = context.memberAddress({ id, address: member.address });
      const add = { ...options, context: encodeMemberContext({ id, address }) };
      return { members: members(await (member.learner ? addLearner.call(node, id, add) : addVoter.call(node, id, add))) };
    },
    async removeMember(request) {
      return { members: members(await node.removeMember(nonEmpty(request.id, 'id'), options)) };
    },
    async promoteLearner(request) {
      return { members: members(await node.promoteLearner(nonEmpty(request.id, 'id'), options)) };
    },
    async transferLeadership(request) {
      const status = node.status();
      let target = request.targetId;
      if (target === '') {
        // The most up-to-date other voter is not visible from here; any other voter will do.
        const other = status.membership.voters.find((id) => id !== node.id);
        if (other === undefined) throw new ServiceCallError('NOT_VOTER', 'there is no other voter to hand leadership to');
        target = other;
      }
      await node.transferLeadership(target, options);
      return { leaderId: node.status().leader ?? target };
    },
    async setLinkFaults(request) {
      if (context.faultHooks === undefined) {
        throw new ServiceCallError('FAULT_HOOKS_OFF', `${node.id} has no fault hooks; they are for demos and tests only (start it with synod serve --fault-hooks)`);
      }
      return { faults: context.faultHooks.setLinkFaults(request.faults).map((f) => ({ peerId: f.peerId, drop: f.drop, delayMs: f.delayMs })) };
    },
  };
}
