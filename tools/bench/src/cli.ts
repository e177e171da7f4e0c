#!/usr/bin/env node
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { machineFacts, measureFdatasync, mergeResults, writeReport, type BenchResult, type FdatasyncLatency, type SuiteReport } from './results.js';
import { formatDuration } from './progress.js';
import { failoverSuite } from './suites/failover-sim.js';
import { leaderPauseSuite, realFailoverSuite, type FailoverVariant } from './suites/failover.js';
import { runKvLoad, type KvLoadOptions, type KvSystem } from './suites/kv-load.js';
import { startEtcdCluster } from './systems/etcd.js';
import { startSynodCluster } from './systems/synod.js';
import { writeSummary } from './summary.js';
import { raftInmemSuite } from './suites/raft-inmem.js';
import { paxosInmemSuite } from './suites/paxos-inmem.js';
import { storageBenchSuite } from './suites/storage.js';
import { detectionBenchSuite } from './suites/detection.js';
import { detectionProcessesSuite } from './suites/detection-processes.js';
import { grpcTransportSuite } from './suites/grpc-transport.js';
import { kvNatsSuite, writeKvNatsChart } from './suites/kv-nats.js';
import { natsTransportSuite } from './suites/nats-transport.js';
import { checkerSuite, writeCheckerTables } from './suites/checker.js';

/** What every suite may use from the command line beyond `--quick`. */
interface RunContext {
  /** `--cpu-prof`: where the Synod server processes write their CPU profiles. */
  readonly cpuProfDir?: string;
  /** `--minutes N`: length of a suite's long healthy run, where it has one. */
  readonly minutes?: number;
}

/** A benchmark suite: runs and returns its results. */
interface Suite {
  readonly description: string;
  /** Parts that `--scenario NAME` can pick; a suite without them always runs whole. */
  readonly scenarios?: Readonly<Record<string, string>>;
  /** `scenarios` is undefined for a whole run. */
  run(quick: boolean, scenarios?: readonly string[], context?: RunContext): Promise<BenchResult[]>;
  /** Called after the JSON and generic markdown are written, to add suite-specific files (tables, charts). */
  afterReport?(outDir: string, report: SuiteReport): void;
}

function kvLoadOptions(quick: boolean): KvLoadOptions {
  return {
    clients: [1, 16, 64, 256],
    mixes: ['put', 'put-get'],
    warmupMs: quick ? 500 : 2_000,
    startupWarmupMs: quick ? 2_000 : 5_000,
    runMs: quick ? 1_000 : 5_000,
    runs: quick ? 2 : 3,
    valueBytes: 256,
    keys: 10_000,
  };
}

function synodExecArgv(context: RunContext | undefined, name: string): string[] {
  if (context?.cpuProfDir === undefined) return [];
  const dir = join(context.cpuProfDir, name);
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

const etcdSystem: KvSystem = { suite: 'etcd', start: (dir) => startEtcdCluster(dir, (line) => process.stdout.write(`  ${line}\n`)) };
const synodGrpcSystem = (context?: RunContext): KvSystem => ({
  suite: 'kv-grpc',
  start: (dir) => startSynodCluster(dir, { execArgv: synodExecArgv(context, 'kv-grpc') }),
});

/** Suites measured together when named together, so that their ratios come from one run. */
const KV_GROUP = ['etcd', 'kv-grpc'] as const;

const suites: Record<string, Suite> = {
  'failover-sim': {
    description: 'Raft leader failover time with and without detector-assisted elections, and leader pauses of 250-700 ms that must not depose the leader (simulator, virtual time, 5 nodes)',
    run: (quick) => failoverSuite({ trials: quick ? 10 : 60, healthyRunMs: quick ? 60_000 : 600_000, pauseTrials: quick ? 6 : 12 }),
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
  'paxos-inmem': {
    description: 'Multi-Paxos vs Raft side by side, 3 nodes in one process, 1/64/1024 in flight, messages per command',
    run: (quick, _scenarios, context) =>
      paxosInmemSuite({
        // 1,024 in flight even with --quick: it is the point furthest from Raft's.
        inFlight: [1, 64, 1024],
        durationMs: quick ? 1000 : 3000,
        warmupMs: quick ? 300 : 1000,
        runs: quick ? 1 : 3,
        execArgv: (algorithm) => synodExecArgv(context, join('paxos-inmem', algorithm)),
      }),
  },
  storage: storageBenchSuite(),
  detection: detectionBenchSuite(),
  'detection-processes': {
    description: 'SWIM between five synod serve processes over UDP (lan profile, keyring)',
    scenarios: {
      kills: 'SIGKILL → dead at every member (5 kills, 2 with --quick)',
      healthy: 'false positives in a healthy run with 1 % UDP loss (10 minutes, 1 with --quick; --minutes N)',
      'lossy-member': 'one member losing 40 % of its datagrams each way, TCP fallback on then off (3 minutes each, 1 with --quick)',
    },
    run: (quick, scenarios, context) =>
      detectionProcessesSuite({
        kills: quick ? 2 : 5,
        healthyMinutes: context?.minutes ?? (quick ? 1 : 10),
        lossRate: 0.01,
        lossyMinutes: quick ? 1 : 3,
        lossyMemberRate: 0.4,
        ...(scenarios === undefined ? {} : { scenarios }),
        log: (line) => process.stdout.write(`${line}\n`),
      }),
  },
  'grpc-transport': {
    description: 'raw envelopes between two GrpcTransports in two processes on loopback: batched vs one per frame, and round trips; plaintext and mTLS',
    run: (quick) =>
      grpcTransportSuite({ runs: quick ? 1 : 5, envelopes: quick ? 100_000 : 500_000, rttDurationMs: quick ? 1_000 : 3_000, payloadBytes: 256 }),
  },
  'kv-grpc': {
    description: '3 synod serve processes (FileStorage, fsync on) driven by SynodClients on the leader: the shared load generator (256-byte values, 10,000 keys, 100 % put and 50/50 put/linearizable get, 1/16/64/256 clients); with etcd in the same run, Synod ÷ etcd ratios',
    run: async (quick, _scenarios, context) => (await runKvLoad([synodGrpcSystem(context)], kvLoadOptions(quick))).get('kv-grpc')!,
  },
  etcd: {
    description: "3 etcd members (Debian's etcd-server 3.4, installed when missing and root) on loopback, driven through etcd's gRPC KV API by the same load generator as kv-grpc",
    run: async (quick) => (await runKvLoad([etcdSystem], kvLoadOptions(quick))).get('etcd')!,
  },
  failover: {
    description: 'leader failover on real processes: SIGKILL the leader (30 times, 3 with --quick), time to the first acknowledged put; Synod with the election timeout alone and detector-assisted, etcd with heartbeat 100 ms / election 1000 ms',
    scenarios: {
      kills: 'SIGKILL the leader: kill → first acknowledged put, for etcd and four Synod variants (election timeout alone; phi with the default and a 400 ms tolerated leader pause; SWIM)',
      pauses: 'a 300 ms leader pause (SIGSTOP/SIGCONT) every 30 s for 10 minutes (1 minute with --quick) with the two phi detector-assisted variants (default and 400 ms tolerated pause): spurious leader changes',
    },
    run: async (quick, scenarios, context) => {
      const synod = (scenario: string, serveFlags: readonly string[]): FailoverVariant => ({
        system: 'synod',
        scenario,
        start: (dir) => startSynodCluster(dir, { serveFlags, execArgv: synodExecArgv(context, 'failover') }),
      });
      const variants: FailoverVariant[] = [
        { system: 'etcd', scenario: 'election timeout 1000 ms', start: (dir) => startEtcdCluster(dir) },
        synod('election timeout 10 ticks', []),
        synod('detector-assisted (phi accrual)', ['--election-detector', 'phi']),
        synod('detector-assisted (phi accrual, leader pause 400 ms)', ['--election-detector', 'phi', '--leader-pause-ms', '400']),
        synod('detector-assisted (SWIM local, probe 200 ms, leader pause 400 ms)', ['--election-detector', 'swim', '--swim', 'local', '--swim-probe-ms', '200', '--leader-pause-ms', '400']),
      ];
      const rows: BenchResult[] = [];
      if (scenarios === undefined || scenarios.includes('kills')) rows.push(...(await realFailoverSuite(variants, { kills: quick ? 3 : 30, steadyMs: quick ? 500 : 1_000 })));
      if (scenarios?.includes('pauses') === true) {
        // Only when asked for: 10 minutes per variant. A leader pause is what
        // detector-assisted elections must tolerate: the phi variants, with the
        // default tolerated pause and with the shorter 400 ms.
        const phi = variants.filter((variant) => variant.scenario.startsWith('detector-assisted (phi accrual'));
        rows.push(...(await leaderPauseSuite(phi, { runMs: quick ? 60_000 : 600_000, everyMs: quick ? 10_000 : 30_000, pauseMs: 300 })));
      }
      return rows;
    },
  },
  'kv-nats': {
    description: 'the kv-grpc load (shared load generator, all puts) over NATS beside gRPC in one run: serve processes and SynodNatsClients through one nats-server on loopback; ratios to gRPC and a chart',
    run: (quick, _scenarios, context) =>
      kvNatsSuite(synodGrpcSystem(context), { ...kvLoadOptions(quick), mixes: ['put'] }, synodExecArgv(context, 'kv-nats')),
    afterReport: writeKvNatsChart,
  },
  'nats-transport': {
    description: 'raw envelopes between two NatsTransports in two processes through a nats-server on loopback: batched vs one per message, and round trips',
    run: (quick) =>
      natsTransportSuite({ runs: quick ? 1 : 5, envelopes: quick ? 100_000 : 500_000, rttDurationMs: quick ? 1_000 : 3_000, payloadBytes: 256 }),
  },
  checker: {
    description: 'linearizability checker: generated KV and register histories, Jepsen etcd fixtures, exponential shapes',
    scenarios: {
      histories: '10k/50k-op KV and register histories (5 seeds each) and the 50 Jepsen etcd fixtures',
      exponential: 'k overlapping writes/reads, k = 16…22, with the default memory budget',
      'fast-path': 'each history checked with the fast path and without it, interleaved in one process',
    },
    run: (quick, scenarios) =>
      checkerSuite({
        seeds: quick ? 1 : 5,
        warmups: quick ? 1 : 3,
        fastPathRounds: quick ? 3 : 9,
        ks: quick ? [16, 17, 18] : [16, 17, 18, 19, 20, 21, 22],
        ...(scenarios === undefined ? {} : { scenarios }),
      }),
    afterReport: writeCheckerTables,
  },
};

const USAGE = `usage: pnpm bench [--quick] [--cpu-prof] [--out DIR] [--scenario NAME[,NAME…]] [--minutes N] [suite…]
suites:
${Object.entries(suites)
  .map(([name, suite]) =>
    [
      `  ${name.padEnd(14)} ${suite.description}`,
      ...Object.entries(suite.scenarios ?? {}).map(([scenario, what]) => `    --scenario ${scenario.padEnd(8)} ${what}`),
    ].join('\n'),
  )
  .join('\n')}
--scenario runs only the named parts of a suite and merges their rows into the
results file already there, keeping the other rows (marked with their date).
--quick is a short run that checks the harness (under 2 minutes per suite), not speed.
--minutes N sets the length of a long healthy run (detection-processes: 10, or 1 with --quick).
--cpu-prof writes CPU profiles of the Synod server processes to <out>/../profiles/<suite>/.
etcd and kv-grpc named together run as one measurement: the same load, runs
alternating between the systems, and Synod ÷ etcd ratios in the rows and in summary.md.`;

/** The value after `flag` (and the index of that value), or an error when the flag ends the line. */
function flagValue(argv: readonly string[], flag: string): { value?: string; at: number } | { error: string } {
  const index = argv.indexOf(flag);
  if (index < 0) return { at: -1 };
  const value = argv[index + 1];
  if (value === undefined || value.startsWith('--')) return { error: `${flag} needs a value` };
  return { value, at: index + 1 };
}

/** The last report written for `suite` in `outDir`, if it can be read. */
function previousReport(outDir: string, suite: string): SuiteReport | undefined {
  const path = join(outDir, `${suite}.json`);
  if (!existsSync(path)) return undefined;
  try {
    const report = JSON.parse(readFileSync(path, 'utf8')) as SuiteReport;
    return report.suite === suite && Array.isArray(report.results) ? report : undefined;
  } catch {
    return undefined;
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const quick = argv.includes('--quick');
  const cpuProf = argv.includes('--cpu-prof');
  const out = flagValue(argv, '--out');
  const scenarioFlag = flagValue(argv, '--scenario');
  const minutesFlag = flagValue(argv, '--minutes');
  const flagErrors = [out, scenarioFlag, minutesFlag].flatMap((flag) => ('error' in flag ? [flag.error] : []));
  if ('error' in out || 'error' in scenarioFlag || 'error' in minutesFlag) {
    process.stderr.write(`${flagErrors.join('\n')}\n${USAGE}\n`);
    return 64;
  }
  const minutes = minutesFlag.value === undefined ? undefined : Number(minutesFlag.value);
  if (minutes !== undefined && !(Number.isFinite(minutes) && minutes > 0 && minutes <= 24 * 60)) {
    process.stderr.write(`--minutes must be a number of minutes above 0 (at most a day), got '${minutesFlag.value}'\n`);
    return 64;
  }
  const outDir = out.value ?? join(process.env['INIT_CWD'] ?? process.cwd(), 'bench', 'results');
  const names = argv.filter((a, i) => !a.startsWith('--') && i !== out.at && i !== scenarioFlag.at && i !== minutesFlag.at);
  if (argv.includes('--help') || names.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return names.length === 0 && !argv.includes('--help') ? 64 : 0;
  }
  const unknown = names.filter((n) => !(n in suites));
  if (unknown.length > 0) {
    process.stderr.write(`unknown suite: ${unknown.join(', ')}\n${USAGE}\n`);
    return 64;
  }
  const scenarios = scenarioFlag.value?.split(',').filter((s) => s !== '');
  if (scenarios !== undefined) {
    for (const name of names) {
      const known = Object.keys(suites[name]!.scenarios ?? {});
      const bad = scenarios.filter((s) => !known.includes(s));
      if (bad.length > 0) {
        const choices = known.length > 0 ? `its scenarios are ${known.join(', ')}` : 'it has no scenarios to pick';
        process.stderr.write(`unknown scenario for ${name}: ${bad.join(', ')} (${choices})\n`);
        return 64;
      }
    }
  }
  const context: RunContext = { ...(cpuProf ? { cpuProfDir: resolve(outDir, '..', 'profiles') } : {}), ...(minutes === undefined ? {} : { minutes }) };
  if (context.cpuProfDir !== undefined) process.stdout.write(`CPU profiles of the Synod servers go to ${context.cpuProfDir}\n`);
  const fdatasync: FdatasyncLatency = measureFdatasync(tmpdir());
  process.stdout.write(`fdatasync of 4 KiB in ${fdatasync.dir}: p50 ${fdatasync.p50Ms} ms, p99 ${fdatasync.p99Ms} ms\n`);
  // etcd and kv-grpc named together are measured together, runs alternating.
  const together = KV_GROUP.filter((name) => names.includes(name));
  const precomputed = new Map<string, BenchResult[]>();
  if (together.length > 1) {
    process.stdout.write(`running ${together.join(' + ')} together${quick ? ' (quick)' : ''}…\n`);
    const systems = together.map((name) => (name === 'etcd' ? etcdSystem : synodGrpcSystem(context)));
    for (const [suite, rows] of await runKvLoad(systems, kvLoadOptions(quick))) precomputed.set(suite, rows);
  }
  const benchStarted = performance.now();
  for (const [index, name] of names.entries()) {
    const already = precomputed.get(name);
    // With several suites, each start says which of them it is and how long the run has gone.
    const position = names.length > 1 ? ` [suite ${index + 1}/${names.length}, ${formatDuration(performance.now() - benchStarted)} so far]` : '';
    if (already === undefined) process.stdout.write(`running ${name}${scenarios !== undefined ? ` (${scenarios.join(', ')})` : ''}${quick ? ' (quick)' : ''}${position}…\n`);
    const fresh = already ?? (await suites[name]!.run(quick, scenarios, context));
    const previous = scenarios !== undefined ? previousReport(resolve(outDir), name) : undefined;
    const results = previous !== undefined ? mergeResults(previous, fresh) : fresh;
    const report: SuiteReport = { suite: name, machine: machineFacts(fdatasync), results };
    const path = writeReport(resolve(outDir), report);
    suites[name]!.afterReport?.(resolve(outDir), report);
    for (const r of fresh) {
      process.stdout.write(
        `  ${r.system} ${r.scenario} clients=${r.clients}: ${Math.round(r.opsPerSec)} ops/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms\n`,
      );
      if (typeof r['peakRssMiB'] === 'number' && r['endHeapMiB'] !== undefined) {
        process.stdout.write(
          `    peak RSS ${String(r['peakRssMiB'])} MiB, heap at end ${String(r['endHeapMiB'])} MiB, heap slope ${String(r['heapSlopeKiBPer100k'])} KiB per 100k entries\n`,
        );
      }
    }
    process.stdout.write(`  wrote ${path}\n`);
  }
  if (names.some((name) => name === 'failover' || (KV_GROUP as readonly string[]).includes(name))) {
    process.stdout.write(`wrote ${writeSummary(resolve(outDir))}\n`);
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
