import { parseArgs } from 'node:util';
import { EXIT_USAGE, integerFlag, UsageError, type CommandIo } from '@synod/testkit';
import type { DashboardFrame, DemoAlgorithm, DemoTransport } from './dashboard-types.js';
import type { DemoBackend } from './demo-backend.js';
import { DemoCluster, MAX_DEMO_NODES } from './demo-cluster.js';
import { startDashboard, type DashboardServer } from './dashboard-server.js';

const USAGE =
  'usage: synod demo [--port 7070] [--nodes 5] [--algorithm raft|paxos] [--transport memory|grpc|nats] [--seed N] [--no-workload] [--duration S] [--chaos]';

const HELP = `${USAGE}

Runs a consensus cluster on the in-memory transport in this process (or as
real synod serve processes over gRPC or NATS), with a recorded KV workload,
and serves a live dashboard on 127.0.0.1: every node's
state, the failure detectors' phi, traffic per link, throughput and latency,
the linearizability verdict of the recent history, and controls to crash,
partition, slow and reconfigure the cluster. It prints the address and runs
until Ctrl-C or --duration.

options:
  --port P            dashboard port on 127.0.0.1; 0 picks a free one (default 7070)
  --nodes K           voters at the start, 1 to ${MAX_DEMO_NODES} (default 5)
  --algorithm A       raft (default) or paxos (Multi-Paxos; with grpc and nats
                      it cannot add members: it replicates no addresses)
  --transport T       memory (default): every node in this process, on the
                      in-memory network; grpc: synod serve processes on
                      loopback; nats: synod serve processes talking through
                      a nats-server the demo starts (it must be installed).
                      With grpc and nats the nodes run with --fault-hooks,
                      which the isolate, partition and link controls use.
  --seed N            seeds the network, the nodes and the workload (default 1)
  --no-workload       start without the workload (the dashboard can start it)
  --duration S        stop after S seconds (default: run until Ctrl-C)
  --chaos             also crash, restart, cut off and heal the leader every 4 s
  -h, --help          this text`;

export interface DemoArgs {
  readonly port: number;
  readonly transport: DemoTransport;
  readonly nodes: number;
  readonly algorithm: DemoAlgorithm;
  readonly seed: number;
  readonly workload: boolean;
  readonly durationS: number | undefined;
  readonly chaos: boolean;
}

/**
 * Parses `synod demo`'s flags.
 * @throws UsageError naming the flag and the accepted values
 */
export function parseDemoArgs(argv: readonly string[]): DemoArgs | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        nodes: { type: 'string' },
        algorithm: { type: 'string' },
        transport: { type: 'string' },
        seed: { type: 'string' },
        'no-workload': { type: 'boolean' },
        duration: { type: 'string' },
        chaos: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help === true) return 'help';
  const algorithm = values.algorithm ?? 'raft';
  if (algorithm !== 'raft' && algorithm !== 'paxos') throw new UsageError(`--algorithm must be raft or paxos, got '${algorithm}'`);
  const transport = values.transport ?? 'memory';
  if (transport !== 'memory' && transport !== 'grpc' && transport !== 'nats') throw new UsageError(`--transport must be memory, grpc or nats, got '${transport}'`);
  return {
    port: integerFlag(values.port, '--port', 7070, 0, 65535),
    transport,
    nodes: integerFlag(values.nodes, '--nodes', 5, 1, MAX_DEMO_NODES),
    algorithm,
    seed: integerFlag(values.seed, '--seed', 1),
    workload: values['no-workload'] !== true,
    durationS: values.duration === undefined ? undefined : integerFlag(values.duration, '--duration', 0, 1, 86_400),
    chaos: values.chaos === true,
  };
}

function describe(frame: DashboardFrame): string {
  const roles = frame.nodes.map((n) => `${n.id}:${n.role === 'leader' ? 'L' : n.health === 'up' ? n.role[0] : 'x'}`).join(' ');
  const term = Math.max(...frame.nodes.map((n) => n.term));
  const commit = Math.max(...frame.nodes.map((n) => n.commitIndex));
  const { workload, verdict } = frame;
  return `leader ${frame.leader ?? '-'} term ${term} commit ${commit} | ${roles} | ${workload.opsPerSecond} ops/s, p99 ${workload.p99Ms} ms, ${workload.ok} ok | ${verdict.verdict}`;
}

/** Crash the leader, restart it, cut the next leader off, heal: one step every 4 s. */
function startChaos(cluster: DemoBackend, io: CommandIo): () => void {
  let step = 0;
  let crashed: string | undefined;
  const timer = setInterval(() => {
    const leader = cluster.leader();
    try {
      switch (step++ % 4) {
        case 0:
          if (leader !== undefined) {
            crashed = leader;
            io.stdout(`chaos: crashing leader ${leader}`);
            cluster.crash(leader).catch((error: unknown) => io.stdout(`chaos: crash failed (${error instanceof Error ? error.message : String(error)})`));
          }
          break;
        case 1:
          if (crashed !== undefined) {
            io.stdout(`chaos: restarting ${crashed}`);
            // A process restart is asynchronous; its failure is reported, not thrown.
            Promise.resolve(cluster.restart(crashed)).catch((error: unknown) => io.stdout(`chaos: restart failed (${error instanceof Error ? error.message : String(error)})`));
          }
          break;
        case 2:
          if (leader === undefined) break;
          io.stdout(`chaos: cutting leader ${leader} off the network`);
          Promise.resolve(cluster.isolate(leader)).catch((error: unknown) => io.stdout(`chaos: isolation incomplete (${error instanceof Error ? error.message : String(error)})`));
          break;
        case 3:
          io.stdout('chaos: healing the network');
          Promise.resolve(cluster.heal()).catch((error: unknown) => io.stdout(`chaos: healing incomplete (${error instanceof Error ? error.message : String(error)})`));
          break;
      }
    } catch (error) {
      // Someone used the dashboard meanwhile (restarted the node already…): skip this step.
      io.stdout(`chaos: skipped (${error instanceof Error ? error.message : String(error)})`);
    }
  }, 4000);
  return () => clearInterval(timer);
}

/**
 * `synod demo`: the cluster, the dashboard at http://127.0.0.1:PORT, and
 * the workload; runs until Ctrl-C or --duration. Exit code 0, or 1 when the
 * checker found the recent history not linearizable (or the workload
 * committed nothing).
 */
export async function runDemo(argv: readonly string[], io: CommandIo): Promise<number> {
  let args: DemoArgs | 'help';
  try {
    args = parseDemoArgs(argv);
  } catch (error) {
    io.stderr(error instanceof Error ? error.message : String(error));
    io.stderr(USAGE);
    return EXIT_USAGE;
  }
  if (args === 'help') {
    io.stdout(HELP);
    return 0;
  }
  let cluster: DemoBackend;
  if (args.transport === 'memory') {
    cluster = new DemoCluster({ nodes: args.nodes, seed: args.seed, algorithm: args.algorithm });
  } else {
    try {
      // Loaded here: the in-process demo needs neither gRPC nor NATS.
      const { ProcessDemoCluster } = await import('./process-demo-cluster.js');
      cluster = await ProcessDemoCluster.start({ transport: args.transport, algorithm: args.algorithm, nodes: args.nodes, seed: args.seed, io });
    } catch (error) {
      io.stderr(`synod demo: cannot start the ${args.transport} cluster: ${error instanceof Error ? error.message : String(error)}`);
      return 1;
    }
  }
  let dashboard: DashboardServer;
  try {
    dashboard = await startDashboard(cluster, { port: args.port });
  } catch (error) {
    await cluster.stop();
    io.stderr(`cannot serve the dashboard on 127.0.0.1:${args.port}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  const name = args.algorithm === 'raft' ? 'Raft' : 'Multi-Paxos';
  const carrier = { memory: 'on the in-memory transport', grpc: 'as synod serve processes over gRPC', nats: 'as synod serve processes over NATS' }[args.transport];
  io.stdout(`Synod demo: ${args.nodes} ${name} nodes ${carrier}, seed ${args.seed}`);
  io.stdout(`dashboard: ${dashboard.url}`);
  if (args.workload) cluster.startWorkload();

  const stopChaos = args.chaos ? startChaos(cluster, io) : undefined;
  const checker = setInterval(() => void cluster.checkRecentWindow(), 3000);
  const report = setInterval(() => io.stdout(describe(cluster.frame())), 5000);
  await new Promise<void>((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      clearTimeout(timer);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    const timer = args.durationS === undefined ? undefined : setTimeout(done, args.durationS * 1000);
  });
  stopChaos?.();
  clearInterval(checker);
  clearInterval(report);
  await cluster.checkRecentWindow(5000);
  const final = cluster.frame();
  await dashboard.close();
  await cluster.stop();
  io.stdout(describe(final));
  io.stdout(
    `done: ${final.workload.ok} operations ok, ${final.workload.notOk} failed or unknown, ${cluster.leaderChanges} leader changes; recent history ${final.verdict.verdict}`,
  );
  if (final.verdict.verdict === 'not-linearizable') return 1;
  return args.workload && final.workload.ok === 0 ? 1 : 0;
}
