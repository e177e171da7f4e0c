import { fileURLToPath } from 'node:url';
import { EXIT_USAGE, type CommandIo } from './server/flags.js';

const HELP = `synod: consensus and failure detection for TypeScript

commands:
  synod demo [--port 7070] [--nodes 5] [--algorithm raft|paxos] [--transport memory|grpc|nats] [--seed N] [--no-workload] [--duration S]
      a Raft or Multi-Paxos cluster (in process, or serve processes) with a workload and a live dashboard
  synod sim --algorithm raft --seeds N [--first-seed S] [--nodes K] [--steps M] [--membership] [--storage memory|file]
      seeded fault-injection simulations with invariant checks
  synod check-history FILE [--model kv|register] [--format jsonl|jepsen|edn-kv] [--report out.html] [--timeout S]
      checks a recorded history for linearizability
  synod serve --id ID --listen HOST:PORT --peers ID=HOST:PORT,… --data DIR (--tls-cert F --tls-key F --tls-ca F | --insecure)
        [--log-level L] [--log-format auto|json|pretty] [--metrics-listen HOST:PORT]
      one durable node of a real cluster over gRPC, until SIGTERM/SIGINT
  synod serve --transport nats --nats-url URL --id ID --peers ID,… --data DIR
      the same node talking to peers and clients through NATS
  synod cluster up [--nodes 3] [--transport grpc|nats] [--base-port 7001] [--data ./synod-data] [--insecure]
      a local cluster of serve processes, with certificates made at start (gRPC)
      or through a nats-server of its own (--transport nats)
  synod kv put|get|del|cas … (--endpoints LIST | --nats-url URL)
      reads and writes keys of a running cluster
  synod status (--endpoints LIST | --nats-url URL)
      a table of the members: role, term, leader, commit and applied index, health
  synod chaos [--minutes 3] [--seed S] [--transport grpc|nats] [--nodes 3|5] [--faults KIND,…]
      a Jepsen-style fault suite against real serve processes (network namespaces when root)
  synod help

'synod COMMAND --help' describes a command's options.`;

/**
 * The `synod` command line. Returns the exit code; never throws for bad
 * input (it prints a clear message instead).
 */
export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    // Each command loads its own modules, so `synod serve` does not wait for the simulator.
    case 'demo':
      return (await import('./demo/run-demo.js')).runDemo(rest, io);
    case 'sim':
      return (await import('./testkit-commands.js')).runSimCommand(rest, io);
    case 'check-history':
      return (await import('./testkit-commands.js')).runCheckHistory(rest, io);
    case 'serve':
      return (await import('./server/serve.js')).runServe(rest, io);
    case 'cluster':
      return (await import('./server/cluster-up.js')).runClusterUp(rest, io);
    case 'kv':
      return (await import('./server/client-commands.js')).runKv(rest, io);
    case 'status':
      return (await import('./server/client-commands.js')).runStatus(rest, io);
    case 'chaos':
      // The suite runs this same CLI's `serve` in every node process.
      return (await import('@synod/chaos')).runChaosCli(rest, io, {
        serveCommand: [process.execPath, fileURLToPath(new URL('./bin.js', import.meta.url)), 'serve'],
      });
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout(HELP);
      return command === undefined ? EXIT_USAGE : 0;
    default:
      io.stderr(`synod: unknown command '${command}'`);
      io.stderr(HELP);
      return EXIT_USAGE;
  }
}
