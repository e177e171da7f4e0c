import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FinishedCall } from './node-calls.js';

/** What the metrics read from the node at each scrape (RaftNode's status and events). */
export interface MeteredNode {
  status(): { readonly role: string; readonly term: number; readonly commitIndex: number; readonly appliedIndex: number; readonly lastIndex: number; readonly pendingProposals: number };
  on(event: 'role', listener: (event: { readonly role: string }) => void): unknown;
  on(event: 'leader', listener: (event: { readonly leader: string | undefined }) => void): unknown;
  on(event: 'snapshot', listener: (event: { readonly index: number }) => void): unknown;
}

/** Per-peer send counters, as the gRPC and NATS transports' `stats()` report them. */
export interface MeteredTransport {
  stats(): { readonly peers: ReadonlyMap<string, { readonly envelopesSent: number; readonly bytesSent: number }> };
}

/** One member as the failure detector sees it. */
export interface DetectorEntry {
  readonly id: string;
  readonly state: string;
  readonly phi: number | undefined;
}

/** The roles `synod_raft_role` has a series for. */
const ROLES = ['follower', 'pre-candidate', 'candidate', 'leader'] as const;

/** Latency buckets in seconds: 0.5 ms (an fsync) to 10 s (a call that waited out an election). */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The Prometheus metrics of one `synod serve` node, in their own registry
 * (so tests can run several nodes in one process). Gauges and transport
 * counters are read from the node when scraped; latencies and event counts
 * are recorded as they happen through the `observe*` methods and `attach*`.
 * The names and their meaning are listed in the app's README.
 *
 * @example
 * ```ts
 * const metrics = new ServeMetrics();
 * metrics.attachNode(server.node);
 * metrics.attachTransport(server.transport);
 * observeNodeCalls(server.node, (call) => metrics.observeCall(call));
 * const text = await metrics.registry.metrics();
 * ```
 */
export class ServeMetrics {
  readonly registry = new Registry();
  readonly #proposals: Counter<'outcome'>;
  readonly #proposalSeconds: Histogram<'outcome'>;
  readonly #readSeconds: Histogram<'consistency' | 'outcome'>;
  readonly #fsyncSeconds: Histogram;
  readonly #elections: Counter;
  readonly #leaderChanges: Counter;
  readonly #snapshots: Counter;
  readonly #suspicions: Counter<'peer'>;
  #node: MeteredNode | undefined;
  #transport: MeteredTransport | undefined;
  #detector: (() => readonly DetectorEntry[]) | undefined;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const status = () => this.#node?.status();
    new Gauge({
      name: 'synod_raft_role',
      help: 'This node\'s Raft role: 1 for the role it has, 0 for the others',
      labelNames: ['role'],
      registers,
      collect() {
        const role = status()?.role;
        for (const each of ROLES) this.set({ role: each }, each === role ? 1 : 0);
      },
    });
    const statusGauge = (name: string, help: string, read: (s: NonNullable<ReturnType<typeof status>>) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const s = status();
          if (s !== undefined) this.set(read(s));
        },
      });
    };
    statusGauge('synod_raft_term', 'The current Raft term of this node', (s) => s.term);
    statusGauge('synod_raft_commit_index', 'The highest log index this node knows to be committed', (s) => s.commitIndex);
    statusGauge('synod_raft_applied_index', 'The highest log index applied to this node\'s state machine', (s) => s.appliedIndex);
    statusGauge('synod_raft_last_index', 'The index of the last entry in this node\'s log', (s) => s.lastIndex);
    statusGauge('synod_raft_pending_proposals', 'Proposals waiting to be committed and applied', (s) => s.pendingProposals);
    this.#proposals = new Counter({ name: 'synod_raft_proposals_total', help: 'Proposals made through this node, by outcome (ok or error)', labelNames: ['outcome'], registers });
    this.#proposalSeconds = new Histogram({
      name: 'synod_raft_proposal_duration_seconds',
      help: 'Time from a proposal to its result (committed and applied here), by outcome',
      labelNames: ['outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#readSeconds = new Histogram({
      name: 'synod_raft_read_duration_seconds',
      help: 'Time to answer a read, by consistency (linearizable, lease, serializable) and outcome',
      labelNames: ['consistency', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#fsyncSeconds = new Histogram({
      name: 'synod_storage_fsync_duration_seconds',
      help: 'Time of each fdatasync or fsync of the data directory',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.#elections = new Counter({ name: 'synod_raft_elections_total', help: 'Elections this node started (it became a candidate)', registers });
    this.#leaderChanges = new Counter({ name: 'synod_raft_leader_changes_total', help: 'Times the leader this node knows changed (including to none)', registers });
    this.#snapshots = new Counter({ name: 'synod_raft_snapshots_total', help: 'Snapshots this node took or installed', registers });
    const peerCounter = (name: string, help: string, read: (peer: { readonly envelopesSent: number; readonly bytesSent: number }) => number): void => {
      const transport = () => this.#transport;
      new Counter({
        name,
        help,
        labelNames: ['peer'],
        registers,
        collect() {
          const stats = transport()?.stats();
          if (stats === undefined) return;
          // The transport keeps the running totals; the counter mirrors them.
          this.reset();
          for (const [peer, link] of stats.peers) this.inc({ peer }, read(link));
        },
      });
    };
    peerCounter('synod_transport_sent_messages_total', 'Messages (envelopes of every protocol) sent to each peer', (link) => link.envelopesSent);
    peerCounter('synod_transport_sent_bytes_total', 'Bytes sent to each peer on the wire (frames or NATS payloads)', (link) => link.bytesSent);
    this.#suspicions = new Counter({ name: 'synod_detector_suspicions_total', help: 'Times the failure detector (SWIM) began to suspect each peer', labelNames: ['peer'], registers });
    const detector = () => this.#detector;
    new Gauge({
      name: 'synod_detector_phi',
      help: 'Phi accrual suspicion level of each peer, from the traffic received from it',
      labelNames: ['peer'],
      registers,
      collect() {
        this.reset();
        for (const entry of detector()?.() ?? []) if (entry.phi !== undefined && Number.isFinite(entry.phi)) this.set({ peer: entry.id }, entry.phi);
      },
    });
    new Gauge({
      name: 'synod_detector_member_alive',
      help: 'Whether the failure detector holds each member alive (1) or suspect, dead or left (0)',
      labelNames: ['peer'],
      registers,
      collect() {
        this.reset();
        for (const entry of detector()?.() ?? []) this.set({ peer: entry.id }, entry.state === 'alive' ? 1 : 0);
      },
    });
  }

  /** Reads role, term and indexes from `node` at each scrape, and counts its elections, leader changes and snapshots. */
  attachNode(node: MeteredNode): void {
    this.#node = node;
    node.on('role', ({ role }) => {
      if (role === 'candidate') this.#elections.inc();
    });
    node.on('leader', () => this.#leaderChanges.inc());
    node.on('snapshot', () => this.#snapshots.inc());
  }

  /** Reads the per-peer send counters from `transport` at each scrape. */
  attachTransport(transport: MeteredTransport): void {
    this.#transport = transport;
  }

  /** Reads phi and member states from `view` at each scrape. */
  attachDetector(view: () => readonly DetectorEntry[]): void {
    this.#detector = view;
  }

  /** Counts a suspicion of `peer` (SWIM marked it suspect). */
  suspected(peer: string): void {
    this.#suspicions.inc({ peer });
  }

  /** Records a finished proposal or read (see `observeNodeCalls`). */
  observeCall(call: FinishedCall): void {
    const outcome = call.error === undefined ? 'ok' : 'error';
    if (call.kind === 'proposal') {
      this.#proposals.inc({ outcome });
      this.#proposalSeconds.observe({ outcome }, call.seconds);
    } else {
      this.#readSeconds.observe({ consistency: call.consistency ?? 'linearizable', outcome }, call.seconds);
    }
  }

  /** Records one fsync of the data directory (see `timedFileSystem`). */
  observeFsync(seconds: number): void {
    this.#fsyncSeconds.observe(seconds);
  }
}
