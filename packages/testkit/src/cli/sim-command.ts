import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { kvCodec } from '../history/kv-ops.js';
import { serializeHistoryJsonl } from '../history/jsonl.js';
import { simulateRaft, type SimStorageMode } from '../simulator/raft-simulation.js';
import { EXIT_USAGE, integerFlag, UsageError, type CommandIo } from './cli-io.js';
import { runPaxosSeeds } from './paxos-sim-command.js';
import { SeedProgress } from './seed-progress.js';

const USAGE =
  'usage: synod sim --algorithm raft|paxos --seeds N [--first-seed S] [--nodes K] [--steps M] [--membership] [--storage memory|file]';

const HELP = `${USAGE}

Runs seeded simulations of a cluster on the memory transport with a virtual
clock and random faults (loss, delay, duplication, partitions, crashes and
restarts), checking the Raft safety invariants after every step, liveness
once faults heal, and the linearizability of the client history. A failing
seed prints a command that replays it.

options:
  --algorithm A       raft (default) or paxos (Multi-Paxos)
  --seeds N           how many seeds to run (required)
  --first-seed S      the first seed (default 1)
  --nodes K           cluster size, 1 to 9 (default 5)
  --steps M           simulation steps per seed (default 3000)
  --membership        random adds, removes and replacements of members (up to 9 nodes)
  --storage file      FileStorage on simulated disks: crashes lose unsynced bytes and tear tails
                      (default: memory)
  -h, --help          this text

The last line is 'seeds: N, violations: V'; the exit code is 1 when V > 0.`;

/**
 * `synod sim`: runs N seeded simulations and reports every violation with a
 * one-line replay command. The last line is `seeds: N, violations: V`; the
 * exit code is 1 when V > 0.
 *
 * @example
 * ```ts
 * const code = await runSimCommand(['--algorithm', 'raft', '--seeds', '20'], { stdout: console.log, stderr: console.error });
 * ```
 */
export async function runSimCommand(argv: readonly string[], commandIo: CommandIo): Promise<number> {
  let io = commandIo;
  let parsed;
  try {
    parsed = parseSimArgs(argv);
  } catch (error) {
    io.stderr(error instanceof Error ? error.message : String(error));
    io.stderr(USAGE);
    return EXIT_USAGE;
  }
  if (parsed === 'help') {
    io.stdout(HELP);
    return 0;
  }
  if (parsed.algorithm === 'paxos') return runPaxosSeeds(parsed, io);
  const progress = new SeedProgress(commandIo, 'raft', parsed.seeds);
  io = progress.io;
  const { seeds, firstSeed, nodes, steps, membership, storage } = parsed;
  let violations = 0;
  let failingSeeds = 0;
  let recoveries = 0;
  let tornTails = 0;
  const started = performance.now();
  // The update clause runs after a `continue` too, so every seed is counted.
  for (let seed = firstSeed; seed < firstSeed + seeds; seed++, progress.seedDone(violations)) {
    let result;
    try {
      result = await simulateRaft({ seed, nodes, steps, membership, storage });
    } catch (error) {
      // A throw is a bug too (in the library or the simulator): report the
      // seed like any violation and go on with the others.
      failingSeeds++;
      violations++;
      io.stdout(`seed ${seed}: the simulation threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
      io.stdout(`  replay: ${replayCommand(parsed, seed)}`);
      continue;
    }
    recoveries += result.fileStorage?.recoveries ?? 0;
    tornTails += result.fileStorage?.tornTails ?? 0;
    if (result.violations.length === 0) continue;
    failingSeeds++;
    violations += result.violations.length;
    for (const v of result.violations) io.stdout(`seed ${seed}: ${v.invariant} at ${v.atMs} ms: ${v.message}`);
    io.stdout(`  replay: ${replayCommand(parsed, seed)}`);
    if (result.violations.some((v) => v.invariant === 'linearizability')) {
      const path = join(tmpdir(), `synod-sim-raft-seed-${seed}.jsonl`);
      writeFileSync(path, serializeHistoryJsonl(result.history, { codec: kvCodec, model: 'kv' }));
      io.stdout(`  history: pnpm synod check-history ${path} --model kv --report ${path}.html`);
    }
  }
  progress.finish();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const storageNote = storage === 'file' ? `, FileStorage on simulated disks (${recoveries} crash recoveries, ${tornTails} torn tails cut)` : '';
  io.stdout(
    `raft, ${nodes} nodes${membership ? ' (of 9, with membership changes)' : ''}${storageNote}, ${steps} steps per seed, ${failingSeeds} failing seeds, ${seconds} s`,
  );
  io.stdout(`seeds: ${seeds}, violations: ${violations}`);
  return violations > 0 ? 1 : 0;
}

/**
 * The command that replays one seed with the same options: every flag that
 * changes the run must be in it.
 *
 * @example
 * ```ts
 * replayCommand({ seeds: 100, firstSeed: 0, nodes: 3, steps: 3000, membership: false, storage: 'file' }, 42);
 * // 'pnpm synod sim --algorithm raft --seeds 1 --first-seed 42 --nodes 3 --steps 3000 --storage file'
 * ```
 */
export function replayCommand(args: SimArgs, seed: number): string {
  const flags = [`--seeds 1 --first-seed ${seed} --nodes ${args.nodes} --steps ${args.steps}`];
  if (args.membership) flags.push('--membership');
  if (args.storage !== 'memory') flags.push(`--storage ${args.storage}`);
  return `pnpm synod sim --algorithm ${args.algorithm ?? 'raft'} ${flags.join(' ')}`;
}

/** Parsed `synod sim` flags. */
export interface SimArgs {
  /** @default 'raft' */
  readonly algorithm?: 'raft' | 'paxos';
  readonly seeds: number;
  readonly firstSeed: number;
  readonly nodes: number;
  readonly steps: number;
  readonly membership: boolean;
  readonly storage: SimStorageMode;
}

function parseSimArgs(argv: readonly string[]): SimArgs | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        algorithm: { type: 'string' },
        seeds: { type: 'string' },
        'first-seed': { type: 'string' },
        nodes: { type: 'string' },
        steps: { type: 'string' },
        membership: { type: 'boolean' },
        storage: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help === true) return 'help';
  const algorithm = values.algorithm ?? 'raft';
  if (algorithm !== 'raft' && algorithm !== 'paxos') throw new UsageError(`--algorithm must be raft or paxos, got '${algorithm}'`);
  if (values.seeds === undefined) throw new UsageError('--seeds is required');
  const storage = values.storage ?? 'memory';
  if (storage !== 'memory' && storage !== 'file') throw new UsageError(`--storage must be memory or file, got '${storage}'`);
  return {
    algorithm,
    seeds: integerFlag(values.seeds, '--seeds', 1, 1),
    firstSeed: integerFlag(values['first-seed'], '--first-seed', 1, 0, 2 ** 32 - 1),
    nodes: integerFlag(values.nodes, '--nodes', 5, 1, 9),
    steps: integerFlag(values.steps, '--steps', 3000, 1),
    membership: values.membership === true,
    storage,
  };
}
