/**
 * What the dashboard server pushes to the page, several times a second, as
 * one JSON object per Server-Sent Event. The page imports these types only
 * (no code), so the server and the page cannot disagree on a field.
 */

export type DemoAlgorithm = 'raft' | 'paxos';

/** What carries the demo cluster: the in-memory network in this process, or `synod serve` processes over gRPC or NATS. */
export type DemoTransport = 'memory' | 'grpc' | 'nats';

/** The dashboard's controls, as a backend may lack some of them. */
export type DemoControl = 'crash' | 'restart' | 'pause' | 'isolate' | 'transfer' | 'add' | 'remove' | 'partition' | 'heal' | 'link' | 'workload';

/** How a node is doing, as the dashboard colours it. */
export type NodeHealth = 'up' | 'down' | 'isolated' | 'paused' | 'removed';

export interface NodeFrame {
  readonly id: string;
  readonly health: NodeHealth;
  /** Raft: leader, follower, candidate…; Paxos: leader, follower, candidate; `down` when not running. */
  readonly role: string;
  /** Raft term, or the round of the Paxos ballot this node promised. */
  readonly term: number;
  readonly leader: string | undefined;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  /** Entries in the log after the snapshot: last index minus snapshot index. */
  readonly logLength: number;
  readonly snapshotIndex: number;
  /** Whether the node is a voter in the configuration the leader (or this node) knows. */
  readonly voter: boolean;
}

/** One direction of one link between two nodes. */
export interface LinkFrame {
  readonly from: string;
  readonly to: string;
  /** Messages sent on this link during the last second. */
  readonly perSecond: number;
  /** Cut by a partition, a dropped link or an isolation. */
  readonly cut: boolean;
  /** Extra delay set on this link by the "delay link" control, in ms. */
  readonly delayMs: number;
}

/** The phi of `peer` as `observer`'s detector sees it now. */
export interface PhiFrame {
  readonly observer: string;
  readonly peer: string;
  readonly phi: number;
}

/** What `observer`'s SWIM node believes about `member`. */
export interface SwimFrame {
  readonly observer: string;
  readonly member: string;
  readonly state: 'alive' | 'suspect' | 'dead' | 'left';
  readonly incarnation: number;
}

export interface WorkloadFrame {
  readonly running: boolean;
  /** Operations that completed ok during the last second. */
  readonly opsPerSecond: number;
  /** Latency percentiles of the operations that completed during the last second, in ms (0 when none). */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly ok: number;
  /** Operations that failed or whose outcome is unknown (timeouts, lost leaders). */
  readonly notOk: number;
}

export type VerdictText = 'linearizable' | 'not-linearizable' | 'unknown' | 'pending';

export interface VerdictFrame {
  readonly verdict: VerdictText;
  /** Operations in the window that was checked. */
  readonly operations: number;
  /** The window, in seconds of history. */
  readonly windowS: number;
  /** When the check ran, in ms since the demo started. */
  readonly checkedAtMs: number;
  readonly elapsedMs: number;
}

export type TimelineKind = 'election' | 'fault' | 'membership' | 'workload';

export interface TimelineEntry {
  /** ms since the demo started */
  readonly atMs: number;
  readonly kind: TimelineKind;
  readonly text: string;
}

export interface DashboardFrame {
  /** ms since the demo started */
  readonly atMs: number;
  readonly algorithm: DemoAlgorithm;
  readonly transport: DemoTransport;
  /** Controls this cluster cannot offer, each with the reason the page shows. */
  readonly unavailable: Readonly<Partial<Record<DemoControl, string>>>;
  /** What the phi chart is fed with, shown under it. */
  readonly detectorNote: string;
  readonly seed: number;
  readonly leader: string | undefined;
  /** The phi above which a detector suspects a peer. */
  readonly phiThreshold: number;
  readonly nodes: readonly NodeFrame[];
  readonly links: readonly LinkFrame[];
  readonly phi: readonly PhiFrame[];
  /** SWIM membership as every running node sees it. */
  readonly swim: readonly SwimFrame[];
  readonly workload: WorkloadFrame;
  readonly verdict: VerdictFrame;
  /** The most recent entries, oldest first. */
  readonly timeline: readonly TimelineEntry[];
}
