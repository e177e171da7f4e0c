import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serializeHistoryJsonl } from '../history/jsonl.js';
import { kvCodec } from '../history/kv-ops.js';
import { simulatePaxos } from '../paxos-sim/paxos-simulation.js';
import type { CommandIo } from './cli-io.js';
import { SeedProgress } from './seed-progress.js';
import { replayCommand, type SimArgs } from './sim-command.js';

/**
 * `synod sim --algorithm paxos`: N seeded Multi-Paxos simulations, with the
 * same flags, report format and last line (`seeds: N, violations: V`) as Raft.
 */
export async function runPaxosSeeds(args: SimArgs, commandIo: CommandIo): Promise<number> {
  const progress = new SeedProgress(commandIo, 'paxos', args.seeds);
  const io = progress.io;
  const { seeds, firstSeed, nodes, steps, storage, membership } = args;
  let violations = 0;
  let failingSeeds = 0;
  let chosen = 0;
  let recoveries = 0;
  let membershipChanges = 0;
  const started = performance.now();
  // The update clause runs after a `continue` too, so every seed is counted.
  for (let seed = firstSeed; seed < firstSeed + seeds; seed++, progress.seedDone(violations)) {
    let result;
    try {
      result = await simulatePaxos({ seed, nodes, steps, storage, membership });
    } catch (error) {
      failingSeeds++;
      violations++;
      io.stdout(`seed ${seed}: the simulation threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
      io.stdout(`  replay: ${replayCommand(args, seed)}`);
      continue;
    }
    chosen += result.chosenSlots;
    recoveries += result.recoveries;
    membershipChanges += result.membershipChanges;
    if (result.violations.length === 0) continue;
    failingSeeds++;
    violations += result.violations.length;
    for (const v of result.violations) io.stdout(`seed ${seed}: ${v.invariant} at ${v.atMs} ms: ${v.message}`);
    io.stdout(`  replay: ${replayCommand(args, seed)}`);
    if (result.violations.some((v) => v.invariant === 'linearizability')) {
      const path = join(tmpdir(), `synod-sim-paxos-seed-${seed}.jsonl`);
      writeFileSync(path, serializeHistoryJsonl(result.history, { codec: kvCodec, model: 'kv' }));
      io.stdout(`  history: pnpm synod check-history ${path} --model kv --report ${path}.html`);
    }
  }
  progress.finish();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const storageNote = storage === 'file' ? `, FileStorage on simulated disks (${recoveries} crash recoveries)` : '';
  const membershipNote = membership ? ` (of 9, ${membershipChanges} membership changes)` : '';
  io.stdout(`paxos, ${nodes} nodes${membershipNote}${storageNote}, ${steps} steps per seed, ${chosen} slots chosen, ${failingSeeds} failing seeds, ${seconds} s`);
  io.stdout(`seeds: ${seeds}, violations: ${violations}`);
  return violations > 0 ? 1 : 0;
}
