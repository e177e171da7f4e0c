import type * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError, type ConfState, type Logger, type NodeId, type RaftRole } from '@synod/core';
import { clusterV1 } from '@synod/protocol';
import { ServiceCallError, toServiceError, type LeaderView } from './errors.js';
import type { KvRaftNode } from './kv-service.js';
import { isMalformed, MALFORMED } from './tolerant-service.js';

/** What the Cluster handlers need from the server around them. */
export interface ClusterServiceContext {
  readonly node: KvRaftNode;
  readonly logger: Logger;
  readonly defaultTimeoutMs: number;
  /** The `host:port` of a member, when known. */
  addressOf(id: NodeId): string | undefined;
  leaderView(): LeaderView;
  /**
   * A digest of the replicated state and the log index it has applied, for
   * Status calls that ask for it: replicas at the same index must agree.
   */
  stateHash?(): { readonly hash: Uint8Array; readonly index: number };
  /** The failure detector's view of every member, for `swim_members`. */
  detectionView?(): readonly { readonly id: NodeId; readonly state: string; readonly incarnation: number; readonly phi?: number | undefined }[];
}

const ROLES: Readonly<Record<RaftRole, clusterV1.Role>> = {
  follower: clusterV1.Role.ROLE_FOLLOWER,
  'pre-candidate': clusterV1.Role.ROLE_PRE_CANDIDATE,
  candidate: clusterV1.Role.ROLE_CANDIDATE,
  leader: clusterV1.Role.ROLE_LEADER,
};

/**
 * The `synod.cluster.v1.Cluster` service of one node: its status, leadership
 * transfer, and the membership calls that need no new address (removing a
 * member, promoting a learner). They run on the leader; other nodes answer
 * UNAVAILABLE with the leader hint. AddMember answers UNIMPLEMENTED: a new
 * member's address would have to reach every node's transport, which this
 * version does not replicate (start the cluster with every member in
 * `--peers` instead).
 */
export function createClusterService(context: ClusterServiceContext): clusterV1.ClusterServer {
  const { node } = context;
  const members = (conf: ConfState): clusterV1.Member[] => [
    ...conf.voters.map((id) => ({ id, address: context.addressOf(id) ?? '', learner: false })),
    ...conf.learners.map((id) => ({ id, address: context.addressOf(id) ?? '', learner: true })),
  ];

  function unary<Req, Res>(method: string, handle: (request: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      Promise.resolve()
        .then(() => {
          const request: unknown = call.request;
          if (isMalformed(request)) throw new InvalidArgumentError(`malformed request: ${request[MALFORMED]}`);
          return handle(call.request);
        })
        .then(
          (response) => callback(null, response),
          (error: unknown) => {
            const serviceError = toServiceError(error, context.leaderView());
            if (serviceError.code === 13) context.logger.error({ err: error, method }, 'Cluster call failed unexpectedly');
            callback(serviceError);
          },
        );
    };
  }

  const options = { timeoutMs: context.defaultTimeoutMs };
  const nonEmpty = (id: string, field: string): string => {
    if (id === '') throw new InvalidArgumentError(`${field} must not be empty`);
    return id;
  };

  return {
    status: unary('Status', async (request: clusterV1.StatusRequest) => {
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
        swimMembers: (context.detectionView?.() ?? []).map((m) => ({
          id: m.id,
          state: m.state,
          incarnation: BigInt(m.incarnation),
          ...(m.phi !== undefined && Number.isFinite(m.phi) ? { phi: m.phi, phiKnown: true } : { phi: 0, phiKnown: false }),
        })),
      };
    }),
    addMember: unary('AddMember', async () => {
      throw new ServiceCallError(
        'UNIMPLEMENTED',
        'AddMember is not supported over gRPC yet: every node would need the new address; restart the members with it in --peers',
      );
    }),
    removeMember: unary('RemoveMember', async (request: clusterV1.RemoveMemberRequest) => ({
      members: members(await node.removeMember(nonEmpty(request.id, 'id'), options)),
    })),
    promoteLearner: unary('PromoteLearner', async (request: clusterV1.PromoteLearnerRequest) => ({
      members: members(await node.promoteLearner(nonEmpty(request.id, 'id'), options)),
    })),
    transferLeadership: unary('TransferLeadership', async (request: clusterV1.TransferLeadershipRequest) => {
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
    }),
  };
}
