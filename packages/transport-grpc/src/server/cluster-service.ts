import type * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError, type Logger, type NodeId } from '@synod/core';
import { clusterV1, createClusterHandlers, type DetectionViewEntry, type FaultHooks, type KvRaftNode } from '@synod/protocol';
import { toServiceError, type LeaderView } from './errors.js';
import { isMalformed, MALFORMED } from './tolerant-service.js';

/** What the Cluster handlers need from the server around them. */
export interface ClusterServiceContext {
  readonly node: KvRaftNode;
  readonly logger: Logger;
  readonly defaultTimeoutMs: number;
  /** The `host:port` of a member, when known. */
  addressOf(id: NodeId): string | undefined;
  /** Checks the address AddMember replicates for a new member (see `ClusterHandlersContext.memberAddress`). */
  memberAddress(member: { readonly id: NodeId; readonly address: string }): string;
  leaderView(): LeaderView;
  /**
   * A digest of the replicated state and the log index it has applied, for
   * Status calls that ask for it: replicas at the same index must agree.
   */
  stateHash?(): { readonly hash: Uint8Array; readonly index: number };
  /** The failure detector's view of every member, for Status's `swim_members`. */
  detectionView?(): readonly DetectionViewEntry[];
  /** The log index of the node's latest snapshot, for Status. */
  snapshotIndex?(): number;
  /** Fault hooks for SetLinkFaults (demos and tests only); without them it fails with FAILED_PRECONDITION. */
  readonly faultHooks?: FaultHooks | undefined;
}

/**
 * The `synod.cluster.v1.Cluster` service of one node over gRPC: the
 * transport-neutral handlers of `@synod/protocol`. AddMember replicates
 * the new member's `host:port` with the conf change, so every node's
 * transport (and a node that restarts or joins later) can reach it.
 */
export function createClusterService(context: ClusterServiceContext): clusterV1.ClusterServer {
  const handlers = createClusterHandlers({
    node: context.node,
    defaultTimeoutMs: context.defaultTimeoutMs,
    addressOf: (id) => context.addressOf(id),
    memberAddress: (member) => context.memberAddress(member),
    ...(context.stateHash === undefined ? {} : { stateHash: context.stateHash }),
    ...(context.detectionView === undefined ? {} : { detectionView: context.detectionView }),
    ...(context.snapshotIndex === undefined ? {} : { snapshotIndex: context.snapshotIndex }),
    faultHooks: context.faultHooks,
  });

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

  return {
    status: unary('Status', handlers.status),
    addMember: unary('AddMember', handlers.addMember),
    removeMember: unary('RemoveMember', handlers.removeMember),
    promoteLearner: unary('PromoteLearner', handlers.promoteLearner),
    transferLeadership: unary('TransferLeadership', handlers.transferLeadership),
    setLinkFaults: unary('SetLinkFaults', handlers.setLinkFaults),
  };
}
