import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FAULT_KINDS, type FaultKind } from './nemesis.js';
import { runChaos } from './run-chaos.js';

/** Where a command writes; it returns its exit code rather than exiting. */
export interface ChaosIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
}

export const CHAOS_USAGE =
  'usage: synod chaos [--minutes M] [--seed S] [--transport grpc|nats] [--nodes 3|5] [--faults KIND,…] [--network auto|namespaces|loopback] [--lease-reads] [--out DIR]';

const HELP = `${CHAOS_USAGE}

Runs a Jepsen-style fault suite against real 'synod serve' processes: each
node in its own network namespace (when run as root; otherwise on loopback
with process and disk faults only), concurrent clients doing get, put,
delete and compare-and-swap, and a seeded nemesis: SIGKILL and restart,
SIGSTOP pauses shorter and longer than the election timeout, partitions
(half, leader isolated, ring/bridge, one-way), packet loss, delay (tc netem
where the kernel has it, otherwise the nodes' own fault hooks: serve
--fault-hooks), a full disk and a disk that answers EIO; over NATS
also the nats-server killed and restarted. After healing
it checks that the cluster commits again, that no acknowledged write is
lost, that every node's state hashes the same at the same index, and that
the history is linearizable.

options:
  --minutes M       how long faults are injected (default 3; fractions allowed)
  --seed S          the schedule's seed (default: from the clock, printed)
  --transport T     grpc (default) or nats: the nodes and clients talk through
                    a nats-server the run starts (in a namespace of its own)
  --nodes N         3 or 5 (default 3)
  --faults LIST     only these kinds: ${FAULT_KINDS.join(', ')}
  --network MODE    auto (default), namespaces or loopback
  --clients N       concurrent clients (default 4)
  --lease-reads     serve with --lease-reads and make a third of the reads lease reads
  --out DIR         where the history, timeline, logs and report go
                    (default chaos-results/<time>-seed<S>)
  -h, --help        this text

The last line is 'chaos: N ops, K faults, linearizable|not linearizable, L lost';
the exit code is 0 only when the run passed every check, 1 when a check
failed (the report's path is printed), 64 for bad flags.`;

/** The default `synod serve` command: the demo CLI built next to this tool in the workspace. */
export function workspaceServeCommand(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  return [process.execPath, resolve(here, '..', '..', '..', 'apps', 'demo', 'dist', 'bin.js'), 'serve'];
}

class UsageError extends Error {}

/**
 * `synod chaos` / `pnpm chaos`. Returns the exit code; bad flags give one
 * line and 64, never a stack trace.
 *
 * @example
 * ```ts
 * const code = await runChaosCli(['--minutes', '3', '--seed', '7'], { stdout: console.log, stderr: console.error });
 * ```
 */
export async function runChaosCli(argv: readonly string[], io: ChaosIo, options: { readonly serveCommand?: readonly string[] } = {}): Promise<number> {
  let config;
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: [...argv],
        strict: true,
        allowPositionals: false,
        options: {
          minutes: { type: 'string' },
          seed: { type: 'string' },
          transport: { type: 'string' },
          nodes: { type: 'string' },
          faults: { type: 'string' },
          network: { type: 'string' },
          clients: { type: 'string' },
          'lease-reads': { type: 'boolean' },
          out: { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
      });
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
    const { values } = parsed;
    if (values.help === true) {
      io.stdout(HELP);
      return 0;
    }
    const minutes = values.minutes === undefined ? 3 : Number(values.minutes);
    if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 24 * 60) throw new UsageError(`--minutes must be a number of minutes above 0, got '${values.minutes}'`);
    const seed = values.seed === undefined ? Date.now() % 1_000_000 : Number(values.seed);
    if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`--seed must be a whole number, got '${values.seed}'`);
    const transport = values.transport ?? 'grpc';
    if (transport !== 'grpc' && transport !== 'nats') throw new UsageError(`--transport must be grpc or nats, got '${transport}'`);
    const nodes = values.nodes === undefined ? 3 : Number(values.nodes);
    if (nodes !== 3 && nodes !== 5) throw new UsageError(`--nodes must be 3 or 5, got '${values.nodes}'`);
    const clients = values.clients === undefined ? 4 : Number(values.clients);
    if (!Number.isInteger(clients) || clients < 1 || clients > 64) throw new UsageError(`--clients must be between 1 and 64, got '${values.clients}'`);
    const network = values.network ?? 'auto';
    if (network !== 'auto' && network !== 'namespaces' && network !== 'loopback') throw new UsageError(`--network must be auto, namespaces or loopback, got '${network}'`);
    let faults: FaultKind[] | undefined;
    if (values.faults !== undefined) {
      faults = [];
      for (const kind of values.faults.split(',').map((k) => k.trim())) {
        if (!(FAULT_KINDS as readonly string[]).includes(kind)) throw new UsageError(`--faults: unknown kind '${kind}' (known: ${FAULT_KINDS.join(', ')})`);
        faults.push(kind as FaultKind);
      }
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    config = { minutes, seed, transport, nodes, clients, network, faults, leaseReads: values['lease-reads'] === true, out: values.out ?? join('chaos-results', `${stamp}-seed${seed}`) } as const;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`synod chaos: ${error.message}`);
      io.stderr(CHAOS_USAGE);
      return 64;
    }
    throw error;
  }

  const stamp = (): string => new Date().toISOString().slice(11, 19);
  io.stdout(`synod chaos: seed ${config.seed}, ${config.minutes} min, results in ${resolve(config.out)}`);
  // The run removes its namespaces, mounts and processes on the way out;
  // a signal is turned into that same orderly way out.
  const interrupted = new Promise<never>((_, reject) => {
    const onSignal = (signal: NodeJS.Signals): void => reject(new Error(`interrupted by ${signal}`));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  try {
    const result = await Promise.race([
      runChaos({
        durationMs: config.minutes * 60_000,
        seed: config.seed,
        serveCommand: options.serveCommand ?? workspaceServeCommand(),
        outDir: config.out,
        nodes: config.nodes,
        transport: config.transport,
        clients: config.clients,
        network: config.network,
        leaseReads: config.leaseReads,
        ...(config.faults === undefined ? {} : { faults: config.faults }),
        log: (line) => io.stdout(`${stamp()} ${line}`),
      }),
      interrupted,
    ]);
    io.stdout(`history: ${result.files.history}`);
    io.stdout(`timeline: ${result.files.timeline}`);
    io.stdout(`node logs: ${result.files.logs}`);
    if (!result.passed) {
      io.stdout(`FAILED (seed ${result.seed}); report: ${result.files.report}`);
      if (result.recoveryMs === undefined) io.stdout(`the cluster did not commit within ${result.recoveryBoundMs} ms of healing`);
      for (const failure of result.notRestarted) io.stdout(`a node does not come back: ${failure.error}`);
      if (!result.stateHashes.agreed) io.stdout('the nodes\' state hashes differ (or never met at one index)');
      for (const lost of result.lost) io.stdout(`lost: ${lost.write}: ${lost.reason}`);
    }
    io.stdout(result.summary);
    return result.passed ? 0 : 1;
  } catch (error) {
    io.stderr(`synod chaos: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
