#!/usr/bin/env node
import { join, resolve } from 'node:path';
import { machineFacts, writeReport, type BenchResult } from './results.js';
import { failoverSuite } from './suites/failover.js';
import { raftInmemSuite } from './suites/raft-inmem.js';
import { storageSuite } from './suites/storage.js';
import { detectionBenchSuite } from './suites/detection.js';

/** A benchmark suite: runs and returns its results. */
interface Suite {
  readonly description: string;
  run(quick: boolean): Promise<BenchResult[]>;
  /** Called after the JSON and generic markdown are written, to add suite-specific files (tables, charts). */
  afterReport?(outDir: string): void;
}

const suites: Record<string, Suite> = {
  failover: {
    description: 'Raft leader failover time with and without detector-assisted elections (simulator, 5 nodes)',
    run: (quick) => failoverSuite({ trials: quick ? 10 : 60, healthyRunMs: quick ? 60_000 : 600_000 }),
  },
  'raft-inmem': {
    description: '3-node Raft in one process (memory transport and storage, no-op state machine), 1/64/1024 in flight',
    run: (quick) =>
      raftInmemSuite({
        inFlight: quick ? [1, 64] : [1, 64, 1024],
        durationMs: quick ? 1000 : 5000,
        warmupMs: quick ? 300 : 1000,
        runs: quick ? 1 : 3,
      }),
  },
  storage: {
    description: 'FileStorage group commit: 256-byte appends, each awaiting sync(), from 1, 16 and 256 concurrent proposers',
    run: (quick) =>
      storageSuite({
        clients: quick ? [1, 256] : [1, 16, 256],
        durationMs: quick ? 1000 : 5000,
        warmupMs: quick ? 300 : 1000,
        runs: quick ? 1 : 3,
      }),
  },
  detection: detectionBenchSuite(),
};

const USAGE = `usage: pnpm bench [--quick] [--out DIR] [suite…]
suites:
${Object.entries(suites)
  .map(([name, suite]) => `  ${name.padEnd(14)} ${suite.description}`)
  .join('\n')}`;

async function main(argv: readonly string[]): Promise<number> {
  const quick = argv.includes('--quick');
  const outIndex = argv.indexOf('--out');
  const outDir = outIndex >= 0 ? argv[outIndex + 1] : join(process.env['INIT_CWD'] ?? process.cwd(), 'bench', 'results');
  const names = argv.filter((a, i) => !a.startsWith('--') && (outIndex < 0 || i !== outIndex + 1));
  if (argv.includes('--help') || names.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return names.length === 0 && !argv.includes('--help') ? 64 : 0;
  }
  const unknown = names.filter((n) => !(n in suites));
  if (unknown.length > 0 || outDir === undefined) {
    process.stderr.write(`unknown suite: ${unknown.join(', ')}\n${USAGE}\n`);
    return 64;
  }
  for (const name of names) {
    process.stdout.write(`running ${name}${quick ? ' (quick)' : ''}…\n`);
    const results = await suites[name]!.run(quick);
    const path = writeReport(resolve(outDir), { suite: name, machine: machineFacts(), results });
    suites[name]!.afterReport?.(resolve(outDir));
    for (const r of results) {
      process.stdout.write(
        `  ${r.system} ${r.scenario} clients=${r.clients}: ${Math.round(r.opsPerSec)} ops/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms\n`,
      );
    }
    process.stdout.write(`  wrote ${path}\n`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
