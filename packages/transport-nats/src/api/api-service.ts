import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { InvalidArgumentError, type Logger, type NodeId } from '@synod/core';
import { clusterV1, kvV1, serviceFailure, type ClusterHandlers, type KvHandlers, type LeaderView } from '@synod/protocol';
import { API_METHODS, API_ROOT, apiQueueGroup, type ApiMethod } from '../subjects.js';
import { failureReply, TIMEOUT_HEADER } from './replies.js';
import type { WatchService } from './watch-service.js';

/** What the API subscriptions of one node serve. */
export interface ApiServiceContext {
  readonly clusterId: string;
  readonly nodeId: NodeId;
  readonly kv: KvHandlers;
  readonly cluster: ClusterHandlers;
  /** The `KV.Watch` streams and their control subject. */
  readonly watches: WatchService;
  /** Longest a call waits for consensus when the client asked for no less, in ms. */
  readonly defaultTimeoutMs: number;
  readonly logger: Logger;
  leaderView(): LeaderView;
}

interface Codec<T> {
  decode(input: Uint8Array): T;
  encode(message: T): { finish(): Uint8Array };
}

/** One method: how its request decodes, how it is handled, how its response encodes. */
interface Route {
  handle(data: Uint8Array, wait: { timeoutMs: number }): Promise<Uint8Array>;
}

function route<Req, Res>(request: Codec<Req>, response: Codec<Res>, handle: (request: Req, wait: { timeoutMs: number }) => Promise<Res>): Route {
  return {
    async handle(data, wait) {
      let decoded: Req;
      try {
        decoded = request.decode(data);
      } catch (error) {
        throw new InvalidArgumentError(`malformed request: ${error instanceof Error ? error.message : String(error)}`);
      }
      return response.encode(await handle(decoded, wait)).finish();
    },
  };
}

/** The handlers of every method, by `<Service>.<Method>`. */
function routes(context: ApiServiceContext): Readonly<Record<Exclude<ApiMethod, 'KV.Watch'>, Route>> {
  const { kv, cluster } = context;
  return {
    'KV.Put': route(kvV1.PutRequest, kvV1.PutResponse, (r, w) => kv.put(r, w)),
    'KV.Get': route(kvV1.GetRequest, kvV1.GetResponse, (r, w) => kv.get(r, w)),
    'KV.Delete': route(kvV1.DeleteRequest, kvV1.DeleteResponse, (r, w) => kv.delete(r, w)),
    'KV.CompareAndSwap': route(kvV1.CompareAndSwapRequest, kvV1.CompareAndSwapResponse, (r, w) => kv.compareAndSwap(r, w)),
    'Cluster.Status': route(clusterV1.StatusRequest, clusterV1.StatusResponse, (r) => cluster.status(r)),
    'Cluster.AddMember': route(clusterV1.AddMemberRequest, clusterV1.AddMemberResponse, (r) => cluster.addMember(r)),
    'Cluster.RemoveMember': route(clusterV1.RemoveMemberRequest, clusterV1.RemoveMemberResponse, (r) => cluster.removeMember(r)),
    'Cluster.PromoteLearner': route(clusterV1.PromoteLearnerRequest, clusterV1.PromoteLearnerResponse, (r) => cluster.promoteLearner(r)),
    'Cluster.TransferLeadership': route(clusterV1.TransferLeadershipRequest, clusterV1.TransferLeadershipResponse, (r) => cluster.transferLeadership(r)),
    'Cluster.SetLinkFaults': route(clusterV1.SetLinkFaultsRequest, clusterV1.SetLinkFaultsResponse, (r) => cluster.setLinkFaults(r)),
  };
}

/** The API subscriptions of one node; `stop` unsubscribes. */
export interface ApiService {
  /** Waits until the server has the subscriptions (or refused them). */
  ready(): Promise<void>;
  stop(): void;
}

/**
 * Serves the KV and Cluster API of one node on `connection`: the any-node
 * subjects `synod-api.<cluster>.*.*` in the cluster's queue group (the server
 * hands each request to one node, which forwards writes and linearizable
 * reads to the leader through Raft) and the node's own
 * `synod-api.<cluster>.<node>.*.*`. Requests and responses are the protobuf
 * messages of `synod.kv.v1` and `synod.cluster.v1`; a failure is answered
 * as described in `failureReply`. `KV.Watch` opens a stream and
 * `Watch.Control` carries its acknowledgements (see watch-protocol.ts).
 */
export function serveApi(connection: NatsConnection, context: ApiServiceContext): ApiService {
  const table = routes(context);
  const known = new Set<string>(API_METHODS);
  const onMessage = (err: Error | null, msg: Msg): void => {
    if (err !== null) {
      context.logger.warn({ err, node: context.nodeId }, 'the NATS server ended an API subscription');
      return;
    }
    const tokens = msg.subject.split('.');
    const method = `${tokens[tokens.length - 2]}.${tokens[tokens.length - 1]}`;
    // Acks and cancels expect no reply.
    if (method === 'Watch.Control') return context.watches.control(msg);
    if (msg.reply === undefined || msg.reply === '') return;
    if (method === 'KV.Watch') return context.watches.open(msg);
    const asked = Number(msg.headers?.get(TIMEOUT_HEADER) ?? '');
    const timeoutMs = Number.isFinite(asked) && asked > 0 ? Math.min(context.defaultTimeoutMs, asked) : context.defaultTimeoutMs;
    const answer = known.has(method)
      ? table[method as Exclude<ApiMethod, 'KV.Watch'>].handle(msg.data, { timeoutMs })
      : Promise.reject(new InvalidArgumentError(`unknown method '${method}' (subject ${msg.subject})`));
    answer.then(
      (data) => {
        if (!msg.respond(data)) context.logger.debug({ subject: msg.subject }, 'API reply not sent: connection closed');
      },
      (error: unknown) => {
        const failure = serviceFailure(error, context.leaderView());
        if (failure.reason === 'INTERNAL') context.logger.error({ err: error, method }, 'API call failed unexpectedly');
        const reply = failureReply(failure);
        msg.respond(reply.data, { headers: reply.headers });
      },
    );
  };
  const subscriptions: Subscription[] = [
    connection.subscribe(`${API_ROOT}.${context.clusterId}.*.*`, { queue: apiQueueGroup(context.clusterId), callback: onMessage }),
    connection.subscribe(`${API_ROOT}.${context.clusterId}.${context.nodeId}.*.*`, { callback: onMessage }),
  ];
  return {
    async ready() {
      await connection.flush();
      const refused = subscriptions.find((subscription) => subscription.isClosed());
      if (refused !== undefined) {
        const cause = await refused.closed;
        throw new InvalidArgumentError(
          `the NATS server at ${connection.getServer()} refused node ${context.nodeId} the API subscription ${refused.getSubject()}` +
            ` (${cause instanceof Error ? cause.message : 'closed'}); the node's user needs subscribe permission on ${API_ROOT}.${context.clusterId}.>`,
        );
      }
    },
    stop() {
      for (const subscription of subscriptions) subscription.unsubscribe();
    },
  };
}
