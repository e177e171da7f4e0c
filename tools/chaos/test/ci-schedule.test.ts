import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { workspaceServeCommand } from '../src/cli.js';
import { runChaos, timelineLine } from '../src/run-chaos.js';

// The CI schedule: about three minutes of faults on gRPC, then the checks.
// CHAOS_SEED and CHAOS_MINUTES change it (e.g. to replay a failing seed).
const seed = Number(process.env['CHAOS_SEED'] ?? 20261203);
const minutes = Number(process.env['CHAOS_MINUTES'] ?? 3);
const serveCommand = workspaceServeCommand();

describe.skipIf(!existsSync(serveCommand[1]!))('chaos, CI schedule (gRPC)', () => {
  it(`loses no acknowledged write and stays linearizable through ${minutes} minutes of faults (seed ${seed})`, async () => {
    const lines: string[] = [];
    const result = await runChaos({
      durationMs: minutes * 60_000,
      seed,
      serveCommand,
      outDir: join(import.meta.dirname, '..', 'test-results', `chaos-seed${seed}`),
      // A third of the reads are lease reads, the path a paused leader can break.
      leaseReads: true,
      log: (line) => {
        lines.push(line);
        process.stdout.write(`chaos: ${line}\n`);
      },
    });
    const story = [
      result.summary,
      `report: ${result.files.report ?? '(none: passed)'}`,
      `history: ${result.files.history}`,
      `logs: ${result.files.logs}`,
      `replay: CHAOS_SEED=${seed} CHAOS_MINUTES=${minutes} pnpm nx run @synod/chaos:test, or pnpm chaos --seed ${seed} --minutes ${minutes}`,
      ...result.faults.map(timelineLine),
    ].join('\n');
    expect(result.passed, story).toBe(true);
    expect(result.faults.length).toBeGreaterThan(10);
    expect(result.operations).toBeGreaterThan(100);
  }, (minutes * 60 + 240) * 1000);
});
