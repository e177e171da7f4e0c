import {
  JoinFailedError,
  PhiAccrualDetector,
  SwimFailureDetector,
  SwimNode,
  swimConfig,
  swimDetectionBoundMs,
  systemClock,
  systemRandom,
  type Logger,
  type MemberEvent,
  type MemberInfo,
  type MemberState,
  type NodeId,
  type SwimConfig,
  type SwimPreset,
  type Envelope,
  type Transport,
} from '@synod/core';

/** What SWIM needs of a server: its peer transport and the Raft node the other envelopes go to (a gRPC or a NATS server). */
interface PeerServer {
  readonly transport: Transport;
  readonly node: { receive(envelope: Envelope): void };
}

/** What `synod serve` reports about one member, as this node sees it. */
export interface SwimMemberView {
  readonly id: NodeId;
  readonly state: MemberState;
  readonly incarnation: number;
  /** Phi of the traffic received from the member (all protocols); undefined for this node or before any. */
  readonly phi: number | undefined;
}

/** SWIM running beside Raft on the server's peer transport. */
export interface SwimBesideRaft {
  readonly swim: SwimNode;
  readonly detector: SwimFailureDetector;
  readonly config: SwimConfig;
  /** Every member this node knows, with its SWIM state and phi. */
  view(): SwimMemberView[];
  /** Gossips a graceful leave (bounded by `timeoutMs`) and stops. */
  stop(timeoutMs?: number): Promise<void>;
}

/** The `--swim*` flags of `synod serve`, parsed. */
export interface SwimFlags {
  readonly preset: SwimPreset;
  readonly probeIntervalMs?: number;
  readonly suspicionMult?: number;
}

/** A config from the flags: `--swim-probe-ms` keeps the probe timeout below half the interval. */
export function swimConfigFromFlags(flags: SwimFlags): SwimConfig {
  const base = swimConfig(flags.preset);
  const interval = flags.probeIntervalMs ?? base.probeIntervalMs;
  return swimConfig(flags.preset, {
    probeIntervalMs: interval,
    probeTimeoutMs: Math.max(1, Math.min(base.probeTimeoutMs, Math.floor(interval / 2))),
    gossipIntervalMs: Math.min(base.gossipIntervalMs, interval),
    ...(flags.suspicionMult === undefined ? {} : { suspicionMult: flags.suspicionMult }),
  });
}

/**
 * Starts SWIM on `server`'s peer transport, beside its Raft node: one
 * handler routes `swim` envelopes to SWIM and the rest to Raft, and feeds
 * every envelope's arrival to a phi detector for display. Call after
 * `server.start()` (the Raft node installs its own handler when it starts).
 * The node joins through every peer, retrying in the background until one
 * answers, so members may start in any order. Member changes are logged at
 * info, one line each (`swim: n3 is dead`), which is what the process tests
 * and operators read.
 */
export function startSwimBesideRaft(options: {
  readonly server: PeerServer;
  readonly clusterId: string;
  readonly peers: readonly NodeId[];
  readonly config: SwimConfig;
  readonly logger: Logger;
}): SwimBesideRaft {
  const { server, clusterId, config } = options;
  const swim = new SwimNode({ transport: server.transport, clock: systemClock, random: systemRandom, clusterId, config });
  const detector = new SwimFailureDetector({ swim, phi: displayPhi(config) });
  server.transport.setHandler((envelope) => {
    if (envelope.clusterId === clusterId) detector.heartbeat(envelope.from, systemClock.now());
    if (!swim.handleEnvelope(envelope)) server.node.receive(envelope);
  });
  return runSwim({ swim, detector, config, logger: options.logger, seeds: options.peers, memberCount: options.peers.length + 1 });
}

/** Phi's first estimate is one probe period: SWIM traffic from a member comes at least about that often in a small cluster. */
export function displayPhi(config: SwimConfig): PhiAccrualDetector {
  return new PhiAccrualDetector({ firstHeartbeatEstimateMs: config.probeIntervalMs });
}

/**
 * What both ways of running SWIM beside Raft share once the node and its
 * detector exist: member changes logged at info (`swim: n3 is dead`, named
 * by `nameOf`, with `fieldsOf`'s extra fields), the join loop through
 * `seeds` in the background, the status view, and a graceful stop.
 */
export function runSwim(options: {
  readonly swim: SwimNode;
  readonly detector: SwimFailureDetector;
  readonly config: SwimConfig;
  readonly logger: Logger;
  readonly seeds: readonly NodeId[];
  /** The cluster's expected size, for the logged detection bound. */
  readonly memberCount: number;
  /** The name a member goes by in logs and the view. @default its SWIM id */
  readonly nameOf?: (member: MemberInfo) => NodeId;
  /** Extra log fields of a member. @default none */
  readonly fieldsOf?: (member: MemberInfo) => Readonly<Record<string, unknown>>;
  /** Runs after SWIM stopped (closing a transport of its own). */
  readonly onStop?: () => Promise<void>;
}): SwimBesideRaft {
  const { swim, detector, config, logger } = options;
  const nameOf = options.nameOf ?? ((member: MemberInfo): NodeId => member.id);
  const logMember = (event: MemberEvent): void =>
    logger.info(
      { incarnation: event.member.incarnation, previous: event.previous ?? 'unknown', ...options.fieldsOf?.(event.member) },
      `swim: ${nameOf(event.member)} is ${event.member.state}`,
    );
  for (const type of ['alive', 'suspect', 'dead', 'left'] as const) swim.on(type, logMember);
  swim.on('refuted', ({ incarnation }) => logger.info({ incarnation }, 'swim: refuted a suspicion of this node'));
  swim.start();
  logger.info(
    {
      probeMs: config.probeIntervalMs,
      suspicionMult: config.suspicionMult,
      deadWithinMs: swimDetectionBoundMs(config, options.memberCount),
    },
    'swim: started',
  );

  let stopped = false;
  const joinLoop = async (): Promise<void> => {
    if (options.seeds.length === 0) return;
    while (!stopped) {
      try {
        const via = await swim.join(options.seeds, { timeoutMs: Math.max(2_000, 3 * config.probeIntervalMs) });
        logger.info({ via }, 'swim: joined');
        return;
      } catch (error) {
        if (!(error instanceof JoinFailedError)) return; // stopped
      }
    }
  };
  void joinLoop();

  return {
    swim,
    detector,
    config,
    view() {
      const now = systemClock.now();
      return swim
        .members()
        .map((member) => ({ member, id: nameOf(member) }))
        .sort((a, b) => a.id.localeCompare(b.id))
        .map(({ member, id }) => ({
          id,
          state: member.state,
          incarnation: member.incarnation,
          phi: member.id === swim.localId ? undefined : detector.phi(id, now),
        }));
    },
    async stop(timeoutMs = 1_000) {
      if (stopped) return;
      stopped = true;
      await swim.leave({ timeoutMs });
      swim.stop();
      detector.dispose();
      await options.onStop?.();
    },
  };
}
