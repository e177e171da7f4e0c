import { parseArgs } from 'node:util';
import { FileStorage, nodeFileSystem, StorageLockedError, systemClock, type CommitNotice } from '@synod/core';
import { LinkFaultHooks, paxosPayloadCodec, raftPayloadCodec, swimPayloadCodec } from '@synod/protocol';
import { algorithmFlag, refuseRaftOnlyFlags } from './algorithm-flag.js';
import { createSynodServer, type GrpcSecurity } from '@synod/transport-grpc';
import { createSynodNatsServer } from '@synod/transport-nats';
import { diskFaultFileSystem } from './disk-fault-file-system.js';
import { ELECTION_DETECTOR_FLAGS, ELECTION_DETECTOR_HELP, electionDetectorSettings, electionPhiDetector, LateFailureDetector } from './election-detector.js';
import {
  EXIT_FAIL_STOP,
  EXIT_IN_USE,
  EXIT_NO_INPUT,
  hostPort,
  MissingInputError,
  asUsage,
  NATS_FLAGS,
  NATS_FLAGS_HELP,
  natsConnectionFlags,
  parsePeerIds,
  parsePeers,
  serverSecurity,
  TLS_FLAGS,
  transportFlag,
  EXIT_USAGE,
  integerFlag,
  UsageError,
  type CommandIo,
  type NatsConnectionFlags,
} from './flags.js';
import { OPERATIONS_FLAGS, OPERATIONS_HELP, operationsConfig, ServeOperations } from './serve-operations.js';
import { startSwimBesideRaft, swimConfigFromFlags, type SwimBesideRaft } from './swim-beside-raft.js';
import { startSwimOverUdp, SWIM_UDP_FAULT_HELP, SWIM_UDP_FLAGS, SWIM_UDP_FLAGS_HELP, swimUdpSettings } from './swim-over-udp.js';

const USAGE =
  'usage: synod serve --id ID --listen HOST:PORT --peers ID=HOST:PORT[,…] --data DIR (--tls-cert F --tls-key F --tls-ca F | --insecure) [--algorithm raft|paxos]\n' +
  '       synod serve --transport nats --nats-url URL --id ID --peers ID[,…] --data DIR [NATS auth/TLS flags] [--algorithm raft|paxos]';

const HELP = `${USAGE}

Runs one durable Synod node: Raft with its log and snapshots in DIR
(FileStorage, fsync on), the peer stream, the KV and Cluster services, health
and reflection, all on HOST:PORT. Runs until SIGTERM or SIGINT, then stops
cleanly. Every node of a cluster lists all the others in --peers.

With --transport nats the node talks to its peers and serves clients through
the NATS servers of --nats-url instead of a port of its own: peers (and SWIM)
on synod.<cluster>.<node>.<from>, clients by request/reply on
synod-api.<cluster>.<Service>.<Method> (any node answers, in a queue group).
--listen and the gRPC TLS flags do not apply; --peers lists ids.

options:
  --id ID               this node's id (letters, digits, '.', '_', '-')
  --listen HOST:PORT    where peers and clients connect
  --peers LIST          the other members: n2=127.0.0.1:7002,n3=127.0.0.1:7003
  --data DIR            data directory (created if missing; one node per directory)
  --cluster-id ID       the cluster's id, equal on every node (default synod)
  --join                join a running cluster instead of founding one: start
                        with no configuration (--peers say where its members
                        are) until a member adds this node (Cluster/AddMember,
                        with this node's --listen address); it then catches up
                        from the leader's snapshot. Later restarts keep --join.
  --tls-cert FILE       this node's certificate (URI SAN spiffe://synod/<cluster>/<id>)
  --tls-key FILE        its private key
  --tls-ca FILE         the CA that signs the members' and clients' certificates
  --insecure            plaintext, no authentication (a warning is printed)
  --algorithm A         raft (default) or paxos (Multi-Paxos: the same KV,
                        Cluster and client API; every node must run the same
                        algorithm, and a data directory belongs to one)
  --tick-ms N           Raft (or Multi-Paxos) tick; the election timeout is 10
                        ticks (default 100)
  --snapshot-entries N  snapshot after this many applied entries (default 10000)
  --lease-reads         answer lease reads from the leader's lease without a
                        heartbeat round (equal on every node; default off)
  --commit-notice M     how the leader tells followers that writes committed:
                        piggyback (default: with the next append or heartbeat,
                        at most one tick later; half the messages per write)
                        or broadcast (an extra message to every follower at
                        once, so their own reads and watches see writes sooner)
  --watch-history N     changes kept for watches that start in the past; equal on
                        every node (default 1000)
${OPERATIONS_HELP}
  --swim PROFILE        SWIM failure detection beside Raft on the same port:
                        lan (default), wan, local, or off
  --swim-probe-ms N     SWIM probe interval (default: the profile's, 1000)
  --swim-suspicion-mult N
                        SWIM suspicion multiplier (default: the profile's)
${SWIM_UDP_FLAGS_HELP}
${ELECTION_DETECTOR_HELP}
  --transport T         grpc (default) or nats
${NATS_FLAGS_HELP}
  -h, --help            this text

for demos and fault-injection tests only:
  --fault-hooks         wrap the peer transport in a fault injector that
                        Cluster/SetLinkFaults controls: drop or delay the
                        messages to and from chosen peers (Raft, Multi-Paxos
                        and SWIM beside them; not SWIM over UDP). Off by
                        default; without it that call fails with
                        FAILED_PRECONDITION. Never on a production node.
  --inject-disk-faults FILE
                        while FILE exists, every write and sync to the data
                        directory fails with EIO (the node must fail-stop)
${SWIM_UDP_FAULT_HELP}

exit codes: 0 stopped by a signal, 64 bad flags, 66 a TLS file is missing,
74 the node fail-stopped (its disk failed or an invariant broke; nothing it
acknowledged is lost, restart it once the disk is healthy), 75 the data
directory is in use by another process, 1 anything else (NATS unreachable or
refusing the credentials included).`;

/** `--commit-notice`: piggyback (the default) or broadcast (see RaftConfig.commitNotice). */
function commitNoticeFlag(value: string | undefined): CommitNotice {
  const notice = value ?? 'piggyback';
  if (notice !== 'piggyback' && notice !== 'broadcast') throw new UsageError(`--commit-notice must be piggyback or broadcast, got '${notice}'`);
  return notice;
}

/**
 * `synod serve`: one durable node until SIGTERM/SIGINT. Returns the exit
 * code; bad flags, missing files and a locked data directory give one clear
 * line, never a stack trace.
 */
export async function runServe(argv: readonly string[], io: CommandIo, signals: NodeJS.EventEmitter = process): Promise<number> {
  let config;
  try {
    const { values, positionals } = asUsage(() =>
      parseArgs({
        args: [...argv],
        strict: true,
        allowPositionals: true,
        options: {
          id: { type: 'string' },
          listen: { type: 'string' },
          peers: { type: 'string' },
          data: { type: 'string' },
          'cluster-id': { type: 'string' },
          join: { type: 'boolean' },
          ...TLS_FLAGS,
          ...NATS_FLAGS,
          transport: { type: 'string' },
          algorithm: { type: 'string' },
          'tick-ms': { type: 'string' },
          'snapshot-entries': { type: 'string' },
          'watch-history': { type: 'string' },
          'lease-reads': { type: 'boolean' },
          'commit-notice': { type: 'string' },
          ...OPERATIONS_FLAGS,
          'inject-disk-faults': { type: 'string' },
          'fault-hooks': { type: 'boolean' },
          swim: { type: 'string' },
          'swim-probe-ms': { type: 'string' },
          'swim-suspicion-mult': { type: 'string' },
          ...SWIM_UDP_FLAGS,
          ...ELECTION_DETECTOR_FLAGS,
          help: { type: 'boolean', short: 'h' },
        },
      }),
    );
    if (values.help === true) {
      io.stdout(HELP);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (values.id === undefined || values.id === '') throw new UsageError('--id is required');
    if (values.data === undefined || values.data === '') throw new UsageError('--data is required (a directory for the log and snapshots)');
    const swimProfile = values.swim ?? 'lan';
    if (!['lan', 'wan', 'local', 'off'].includes(swimProfile)) throw new UsageError(`--swim must be lan, wan, local or off, got '${swimProfile}'`);
    const transport = transportFlag(values.transport);
    const algorithm = algorithmFlag(values.algorithm);
    refuseRaftOnlyFlags(algorithm, {
      '--lease-reads': values['lease-reads'] === true,
      '--leader-pause-ms': values['leader-pause-ms'] !== undefined,
      '--commit-notice': values['commit-notice'] !== undefined,
    });
    const commitNotice = commitNoticeFlag(values['commit-notice']);
    let network: { transport: 'grpc'; listen: string; peers: Record<string, string>; security: GrpcSecurity } | { transport: 'nats'; peers: string[]; nats: NatsConnectionFlags };
    if (transport === 'nats') {
      if (values.listen !== undefined) throw new UsageError('--listen does not apply with --transport nats: the node connects to --nats-url');
      const tlsGiven = (['tls-cert', 'tls-key', 'tls-ca'] as const).filter((flag) => values[flag] !== undefined);
      if (tlsGiven.length > 0) throw new UsageError(`--${tlsGiven[0]} is for gRPC; with NATS use --nats-tls-ca, --nats-tls-cert and --nats-tls-key`);
      network = { transport, peers: parsePeerIds(values.peers, values.id), nats: natsConnectionFlags(values) };
    } else {
      if (values.listen === undefined) throw new UsageError('--listen is required (host:port)');
      const natsGiven = Object.keys(NATS_FLAGS).filter((flag) => (values as Record<string, unknown>)[flag] !== undefined);
      if (natsGiven.length > 0) throw new UsageError(`--${natsGiven[0]} needs --transport nats`);
      network = { transport, listen: hostPort(values.listen, '--listen'), peers: parsePeers(values.peers, values.id), security: serverSecurity(values) };
    }
    const swimUdp = swimUdpSettings(values, swimProfile !== 'off');
    config = {
      id: values.id,
      algorithm,
      network,
      data: values.data,
      clusterId: values['cluster-id'] ?? 'synod',
      join: values.join === true,
      tickMs: integerFlag(values['tick-ms'], '--tick-ms', 100, 1, 10_000),
      snapshotEntries: integerFlag(values['snapshot-entries'], '--snapshot-entries', 10_000, 1),
      watchHistory: integerFlag(values['watch-history'], '--watch-history', 1000, 0),
      operations: operationsConfig(values, io.terminal?.isTTY === true),
      leaseReads: values['lease-reads'] === true,
      commitNotice,
      diskFaultTrigger: values['inject-disk-faults'],
      faultHooks: values['fault-hooks'] === true,
      swim:
        swimProfile === 'off'
          ? undefined
          : swimConfigFromFlags({
              preset: swimProfile as 'lan' | 'wan' | 'local',
              ...(values['swim-probe-ms'] === undefined ? {} : { probeIntervalMs: integerFlag(values['swim-probe-ms'], '--swim-probe-ms', 1000, 10, 60_000) }),
              ...(values['swim-suspicion-mult'] === undefined ? {} : { suspicionMult: integerFlag(values['swim-suspicion-mult'], '--swim-suspicion-mult', 4, 1, 100) }),
            }),
      swimUdp,
      electionDetector: electionDetectorSettings(values, { running: swimProfile !== 'off', overUdp: swimUdp !== undefined }),
    };
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`synod serve: ${error.message}`);
      io.stderr(USAGE);
      return EXIT_USAGE;
    }
    if (error instanceof MissingInputError) {
      io.stderr(`synod serve: ${error.message}`);
      return EXIT_NO_INPUT;
    }
    throw error;
  }

  const ops = new ServeOperations(config.operations, { nodeId: config.id, clusterId: config.clusterId, write: io.stderr });
  const logger = ops.logger;
  const network = config.network;
  if (network.transport === 'grpc' && 'insecure' in network.security) {
    logger.warn({ listen: network.listen }, `--insecure: peers and clients talk plaintext without authentication; anyone who can reach ${network.listen} can join the cluster and read or write every key`);
  }
  // Demos and tests only: the peer transport goes through a fault injector that Cluster/SetLinkFaults drives.
  const faultHooks = config.faultHooks ? new LinkFaultHooks(systemClock) : undefined;
  if (faultHooks !== undefined) logger.warn('--fault-hooks: any client can cut or slow this node\'s links (Cluster/SetLinkFaults); for demos and tests only');
  let storage: FileStorage;
  try {
    storage = await FileStorage.open(config.data, {
      // Multi-Paxos keeps its promised ballot (round, node) in the hard state: a
      // higher ballot of the same round changes the "vote", which Raft never does.
      ...(config.algorithm === 'paxos' ? { raftRules: false } : {}),
      fileSystem: ops.fileSystem(config.diskFaultTrigger === undefined ? nodeFileSystem : diskFaultFileSystem(config.diskFaultTrigger)),
    });
  } catch (error) {
    if (error instanceof StorageLockedError) {
      io.stderr(`synod serve: refusing to start: ${error.message}; one node per data directory (stop the other serve, or pick another --data)`);
      return EXIT_IN_USE;
    }
    io.stderr(`synod serve: cannot open data directory ${config.data}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }

  let swim: SwimBesideRaft | undefined;
  if (config.swimUdp !== undefined && config.swim !== undefined) {
    // SWIM's own datagram path starts first: its detector (by Raft id) goes into the server.
    try {
      swim = await startSwimOverUdp({
        raftId: config.id,
        clusterId: config.clusterId,
        settings: config.swimUdp,
        config: config.swim,
        logger,
        signals,
        memberCount: (network.transport === 'grpc' ? Object.keys(network.peers).length : network.peers.length) + 1,
      });
      ops.observeDetector(swim);
    } catch (error) {
      io.stderr(`synod serve: cannot listen for SWIM on ${config.swimUdp.listen}: ${error instanceof Error ? error.message : String(error)}`);
      await storage.close();
      return 1;
    }
  }
  // Detector-assisted elections. SWIM over UDP exists already; SWIM on the
  // peer transport starts after the server, so the node gets a stand-in it
  // attaches to then.
  const electionDetector = config.electionDetector;
  const lateSwimDetector = electionDetector.kind === 'swim' && swim === undefined ? new LateFailureDetector() : undefined;
  const failureDetector =
    electionDetector.kind === 'phi' ? electionPhiDetector(config.tickMs) : electionDetector.kind === 'swim' ? (swim?.detector ?? lateSwimDetector) : undefined;
  const common = {
    nodeId: config.id,
    clusterId: config.clusterId,
    join: config.join,
    algorithm: config.algorithm,
    storage,
    tickIntervalMs: config.tickMs,
    // Multi-Paxos takes no Raft settings (the Raft-only flags are refused with it).
    ...(config.algorithm === 'raft' ? { raft: { leaseReads: config.leaseReads, commitNotice: config.commitNotice } } : {}),
    kv: { watchHistorySize: config.watchHistory },
    snapshots: { entries: config.snapshotEntries, retainEntries: Math.min(1000, Math.max(1, Math.floor(config.snapshotEntries / 4))) },
    logger,
    // `synod status` shows it: each member's SWIM state and phi as this node sees them.
    detectionView: () => swim?.view() ?? [],
    ...(failureDetector === undefined ? {} : { failureDetector }),
    ...(electionDetector.toleratedLeaderPauseMs === undefined ? {} : { toleratedLeaderPauseMs: electionDetector.toleratedLeaderPauseMs }),
    ...(faultHooks === undefined ? {} : { faultHooks }),
  };
  // SWIM shares the peer transport with Raft (or Multi-Paxos).
  const payloadCodecs = { raft: raftPayloadCodec, paxos: paxosPayloadCodec, swim: swimPayloadCodec };
  const server =
    network.transport === 'grpc'
      ? createSynodServer({
          ...common,
          listen: network.listen,
          peers: network.peers,
          security: network.security,
          transport: { payloadCodecs },
        })
      : createSynodNatsServer({
          ...common,
          peers: network.peers,
          servers: network.nats.servers,
          transport: {
            payloadCodecs,
            ...(network.nats.auth === undefined ? {} : { auth: network.nats.auth }),
            ...(network.nats.tls === undefined ? {} : { tls: network.nats.tls }),
          },
        });
  ops.observe(server);
  const where = network.transport === 'grpc' ? (): string => `on ${'boundAddress' in server ? server.boundAddress : network.listen}` : (): string => `over NATS ${network.nats.servers.join(',')}`;
  const peerIds = network.transport === 'grpc' ? Object.keys(network.peers) : network.peers;
  const peerList = network.transport === 'grpc' ? Object.entries(network.peers).map(([id, a]) => `${id}=${a}`).join(',') : network.peers.join(',');
  // Handlers go on before start so that a signal during start-up still stops cleanly.
  let stopRequested: (signal: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => {
    stopRequested = resolve;
  });
  const onSigterm = (): void => stopRequested('SIGTERM');
  const onSigint = (): void => stopRequested('SIGINT');
  signals.on('SIGTERM', onSigterm);
  signals.on('SIGINT', onSigint);
  // A storage failure makes the Raft node stop itself (fail-stop). The process
  // goes with it: a server that keeps answering without a node would only
  // hide the failure from supervisors and clients.
  let failure: unknown;
  server.node.on('error', ({ error }) => {
    setImmediate(() => {
      if (!server.node.status().stopped || failure !== undefined) return;
      failure = error;
      stopRequested('fail-stop');
    });
  });
  try {
    try {
      await ops.startMetrics();
    } catch (error) {
      io.stderr(`synod serve: cannot serve metrics on ${config.operations.metricsListen}: ${error instanceof Error ? error.message : String(error)}`);
      await swim?.stop(100);
      return 1;
    }
    try {
      await server.start();
    } catch (error) {
      const target = network.transport === 'grpc' ? `serve on ${network.listen}` : 'join the cluster over NATS';
      io.stderr(`synod serve: cannot ${target}: ${error instanceof Error ? error.message : String(error)}`);
      await swim?.stop(100);
      await server.stop(100);
      return 1;
    }
    if (config.swim !== undefined && config.swimUdp === undefined) {
      // Beside Raft, SWIM shares the (possibly fault-injecting) transport the node was given.
      const peerServer = { transport: faultHooks?.transport ?? server.transport, node: server.node };
      swim = startSwimBesideRaft({ server: peerServer, clusterId: config.clusterId, peers: peerIds, config: config.swim, logger });
      ops.observeDetector(swim);
      lateSwimDetector?.attach(swim.detector);
    }
    const runs = config.algorithm === 'paxos' ? ', Multi-Paxos' : '';
    io.stdout(`synod serve: ${config.id} serving cluster '${config.clusterId}' ${where()} (data ${config.data}, peers ${peerList || 'none'}${runs}${config.join ? ', joining: waiting to be added' : ''})`);
    const signal = await stopped;
    if (failure !== undefined) {
      logger.fatal({ err: failure }, `${config.id} fail-stopped: ${describeFailure(failure)}`);
      await swim?.stop(100);
      await server.stop(100);
      return EXIT_FAIL_STOP;
    }
    io.stdout(`synod serve: ${config.id} stopping on ${signal}`);
    await swim?.stop(500);
    await server.stop();
    io.stdout(`synod serve: ${config.id} stopped`);
    return 0;
  } finally {
    signals.off('SIGTERM', onSigterm);
    signals.off('SIGINT', onSigint);
    await ops.stop();
    // After a disk failure closing may fail too; the exit code says enough.
    await storage.close().catch((error: unknown) => {
      if (failure === undefined) throw error;
    });
  }
}

/** An error's message followed by its causes' (`writing … failed: EIO: i/o error, …`). */
function describeFailure(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e !== undefined && parts.length < 5; e = e instanceof Error ? e.cause : undefined) {
    parts.push(e instanceof Error ? e.message : String(e));
  }
  return parts.join(': ');
}
