import { parseArgs } from 'node:util';
import { EXIT_USAGE, integerFlag, UsageError, type CommandIo } from '@synod/testkit';
import { DemoCluster, type DemoSnapshot } from './demo-cluster.js';
import { startDashboard } from './dashboard-server.js';

const USAGE =
  'usage: synod demo [--nodes 5] [--algorithm raft|paxos] [--port P] [--seed S] [--duration SECONDS] [--no-chaos]';

const HELP = `${USAGE}

Runs a Raft cluster on the in-memory transport in this process, with a
workload of puts and linearizable reads, a dashboard, and a scripted failure
every 4 s (crash the leader, restart it, cut a leader off, heal).

options:
  --nodes K           voters, 1 to 9 (default 5)
  --algorithm raft    the consensus algorithm (paxos is not available yet)
  --port P            dashboard port on 127.0.0.1; 0 picks a free one (default 7070)
  --seed S            seeds the network and the nodes (default 1)
  --duration SECONDS  stop after this long (default: run until Ctrl-C)
  --no-chaos          no scripted failures
  -h, --help          this text`;

interface DemoArgs {
  readonly nodes: number;
  readonly port: number;
  readonly seed: number;
  readonly durationS: number | undefined;
  readonly chaos: boolean;
}

function parseDemoArgs(argv: readonly string[]): DemoArgs | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        nodes: { type: 'string' },
        algorithm: { type: 'string' },
        port: { type: 'string' },
        seed: { type: 'string' },
        duration: { type: 'string' },
        'no-chaos': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help === true) return 'help';
  const algorithm = values.algorithm ?? 'raft';
  if (algorithm === 'paxos') throw new UsageError('--algorithm paxos is not available yet; use --algorithm raft');
  if (algorithm !== 'raft') throw new UsageError(`--algorithm must be raft or paxos, got '${algorithm}'`);
  return {
    nodes: integerFlag(values.nodes, '--nodes', 5, 1, 9),
    port: integerFlag(values.port, '--port', 7070, 0, 65535),
    seed: integerFlag(values.seed, '--seed', 1),
    durationS: values.duration === undefined ? undefined : integerFlag(values.duration, '--duration', 0, 1),
    chaos: values['no-chaos'] !== true,
  };
}

function describe(snapshot: DemoSnapshot): string {
  const roles = snapshot.nodes.map((n) => `${n.id}:${n.role === 'leader' ? 'L' : n.role === 'down' ? 'x' : n.role[0]}`).join(' ');
  const term = Math.max(...snapshot.nodes.map((n) => n.term));
  const commit = Math.max(...snapshot.nodes.map((n) => n.commitIndex));
  return `leader ${snapshot.leader ?? '-'} term ${term} commit ${commit} | ${roles} | ${snapshot.stats.writesPerSecond} writes/s, ${snapshot.stats.committedWrites} committed, ${snapshot.stats.leaderChanges} leader changes`;
}

/**
 * `synod demo`: a cluster on the in-memory transport with a workload, the
 * dashboard at http://127.0.0.1:PORT, and (unless --no-chaos) a scripted
 * failure every few seconds: crash the leader, restart it, cut a leader off,
 * heal. Runs until Ctrl-C, or for --duration seconds.
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
  const cluster = new DemoCluster({ nodes: args.nodes, seed: args.seed });
  let server;
  try {
    server = await startDashboard(cluster, args.port);
  } catch (error) {
    await cluster.stop();
    io.stderr(`cannot listen on 127.0.0.1:${args.port}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : args.port;
  io.stdout(`Synod demo: ${args.nodes} Raft nodes on the in-memory transport`);
  io.stdout(`dashboard: http://127.0.0.1:${port}`);
  cluster.startWorkload();

  let chaosStep = 0;
  let crashed: string | undefined;
  const chaos = setInterval(() => {
    if (!args.chaos || args.nodes < 3) return;
    const leader = cluster.leader()?.id;
    switch (chaosStep++ % 4) {
      case 0:
        if (leader !== undefined) {
          crashed = leader;
          io.stdout(`chaos: crashing leader ${leader}`);
          void cluster.crash(leader);
        }
        break;
      case 1:
        if (crashed !== undefined) {
          io.stdout(`chaos: restarting ${crashed}`);
          cluster.restart(crashed);
        }
        break;
      case 2:
        if (leader !== undefined) {
          io.stdout(`chaos: cutting leader ${leader} off the network`);
          cluster.isolate(leader);
        }
        break;
      case 3:
        io.stdout('chaos: healing the network');
        cluster.heal();
        break;
    }
  }, 4000);
  const report = setInterval(() => io.stdout(describe(cluster.snapshot())), 2000);

  await new Promise<void>((resolve) => {
    const done = (): void => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    if (args.durationS !== undefined) setTimeout(done, args.durationS * 1000);
  });
  clearInterval(chaos);
  clearInterval(report);
  const final = cluster.snapshot();
  await cluster.stop();
  await new Promise((resolve) => server.close(resolve));
  io.stdout(describe(final));
  io.stdout(
    `done: ${final.stats.committedWrites} writes committed, ${final.stats.reads} linearizable reads, ${final.stats.leaderChanges} leader changes survived`,
  );
  return final.stats.committedWrites > 0 ? 0 : 1;
}
