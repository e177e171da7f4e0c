import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HeartbeatDetector, PhiAccrualDetector, swimConfig, type NodeId, type SwimConfig } from '@synod/core';
import type { LinkFaults } from '@synod/transport-memory';
import { barChart, lineChart } from '../charts.js';
import { machineFacts, quantile, type BenchResult } from '../results.js';
import {
  HeartbeatSimulation,
  SwimSimulation,
  type QosReport,
  type SlowScript,
  type StallScript,
} from '@synod/testkit';

/**
 * The failure-detection benchmark: four detectors under one simulated
 * network, SWIM's message load and dissemination time as the cluster grows,
 * and Lifeguard's effect on false positives when members stall or run slow.
 * Everything runs on virtual time, so the figures are exact replays of their
 * seeds and independent of the machine; only the wall time of the run is not.
 */

/** Options of {@link runDetectionSuite}. */
export interface DetectionSuiteOptions {
  /** A short run (< 60 s) for smoke checks: fewer loss levels, shorter windows, smaller clusters. */
  readonly quick: boolean;
  /** Seed of every simulation. @default 1 */
  readonly seed?: number;
  /** Progress lines, e.g. to stdout. */
  readonly log?: (line: string) => void;
}

/** Rows for the JSON report, the markdown tables and the SVG charts. */
export interface DetectionReport {
  readonly results: BenchResult[];
  readonly markdown: string;
  /** File name → SVG text. */
  readonly charts: Readonly<Record<string, string>>;
}

const JITTER: LinkFaults['delay'] = { kind: 'exponential', minMs: 1, meanMs: 5, maxMs: 100 };

const DETECTORS = ['heartbeat (fixed 5 s)', 'phi accrual (φ 8, pause 3 s)', 'SWIM', 'SWIM+Lifeguard'] as const;
type DetectorName = (typeof DETECTORS)[number];

function median(values: readonly number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function pct(rate: number): string {
  return `${round(rate * 100, 1)} %`;
}

// ------------------------------------------------------------ experiment 1

interface ComparisonRow {
  readonly detector: DetectorName;
  readonly loss: number;
  readonly members: number;
  readonly report: QosReport;
  readonly messagesPerMemberPerSecond: number;
}

interface ComparisonSetup {
  readonly members: number;
  readonly durationMs: number;
  readonly loss: number;
  readonly seed: number;
}

/** Members 1..10 % stall now and then; the last three crash during the window. */
function comparisonFaults(setup: ComparisonSetup): { stalls: StallScript; crashes: { id: NodeId; atMs: number }[] } {
  const stalling = Math.max(1, Math.round(setup.members / 10));
  const members = Array.from({ length: stalling }, (_, i) => `m${i + 1}`);
  const crashes = [0.2, 0.45, 0.7].map((f, i) => ({ id: `m${setup.members - 1 - i}`, atMs: Math.round(setup.durationMs * f) }));
  return { stalls: { members, meanIntervalMs: 30_000, minMs: 1_000, maxMs: 5_000 }, crashes };
}

function runComparison(detector: DetectorName, setup: ComparisonSetup): ComparisonRow {
  const faults: LinkFaults = { dropRate: setup.loss, delay: JITTER };
  const { stalls, crashes } = comparisonFaults(setup);
  let measure: () => { report: QosReport; sent: number };
  let schedule: (atMs: number, act: () => void) => void;
  if (detector === 'SWIM' || detector === 'SWIM+Lifeguard') {
    const config = swimConfig('lan', { lifeguard: detector === 'SWIM+Lifeguard' });
    const sim = new SwimSimulation({ members: setup.members, seed: setup.seed, config, faults: { delay: JITTER } });
    sim.bootstrap();
    sim.setFaults(faults);
    const qos = sim.startMeasuring();
    const start = sim.clock.now();
    sim.stallRandomly(stalls, start + setup.durationMs);
    schedule = (atMs, act) => sim.clock.setTimeout(act, atMs);
    for (const crash of crashes) schedule(crash.atMs, () => sim.crash(crash.id));
    measure = () => {
      sim.run(setup.durationMs);
      return { report: qos.report(sim.clock.now(), sim.ids), sent: sim.network.stats().total.sent };
    };
  } else {
    const sim = new HeartbeatSimulation({
      members: setup.members,
      seed: setup.seed,
      faults,
      detector: () =>
        detector === 'heartbeat (fixed 5 s)'
          ? new HeartbeatDetector({ timeoutMs: 5_000 })
          : new PhiAccrualDetector({ threshold: 8, acceptableHeartbeatPauseMs: 3_000 }),
    });
    // Warm-up: phi needs a history of intervals before its verdicts mean anything.
    sim.run(20_000);
    const qos = sim.startMeasuring();
    const start = sim.clock.now();
    sim.stallRandomly(stalls, start + setup.durationMs);
    for (const crash of crashes) sim.clock.setTimeout(() => sim.crash(crash.id), crash.atMs);
    measure = () => {
      sim.run(setup.durationMs);
      return { report: qos.report(sim.clock.now(), sim.ids), sent: sim.network.stats().total.sent };
    };
  }
  const { report, sent } = measure();
  return {
    detector,
    loss: setup.loss,
    members: setup.members,
    report,
    messagesPerMemberPerSecond: sent / setup.members / (setup.durationMs / 1000),
  };
}

// ------------------------------------------------------- experiments 2 and 3

interface ScaleRow {
  readonly members: number;
  readonly messagesPerMemberPerPeriod: number;
  readonly bytesPerMemberPerPeriod: number;
  readonly byType: Readonly<Record<string, number>>;
  readonly periods: number;
  /** Protocol periods until every member saw a new member, one sample per join. */
  readonly disseminationPeriods: readonly number[];
  readonly bootstrapMs: number;
}

function runScale(members: number, options: { windowMs: number; settleMs: number; joins: number; seed: number }): ScaleRow {
  const config = swimConfig('lan');
  const sim = new SwimSimulation({ members, seed: options.seed, config, faults: { dropRate: 0.01, delay: JITTER } });
  const bootstrapMs = sim.bootstrap();
  // Let the join news drain from the transmit queues and the first, randomly
  // phased push-pulls pass: the window should see the steady state.
  sim.run(options.settleMs);
  sim.startMeasuring();
  sim.run(options.windowMs);
  const load = sim.load();

  const disseminationPeriods: number[] = [];
  for (let j = 0; j < options.joins; j++) {
    const running = sim.running;
    const seed = running[sim.random.int(running.length)]!;
    const knowers = new Set<NodeId>();
    let newcomer = '';
    const off = sim.onMemberEvent(({ observer, event }) => {
      if (event.type === 'alive' && event.member.id === newcomer) knowers.add(observer);
    });
    const startedAt = sim.clock.now();
    newcomer = sim.addMember(seed);
    // Counted from the join request until the last old member has heard of
    // the newcomer: the seed hears first, gossip carries it to the rest.
    sim.runUntil(() => knowers.size >= running.length, 120_000, 10);
    off();
    disseminationPeriods.push((sim.clock.now() - startedAt) / config.probeIntervalMs);
    sim.run(10_000);
  }
  return {
    members,
    messagesPerMemberPerPeriod: load.messagesPerMemberPerPeriod,
    bytesPerMemberPerPeriod: load.bytesPerMemberPerPeriod,
    byType: load.byType,
    periods: load.periods,
    disseminationPeriods,
    bootstrapMs,
  };
}

// ------------------------------------------------------------ experiment 4

interface LifeguardVariant {
  readonly name: string;
  readonly loss: number;
  readonly stalls?: StallScript;
  readonly slow?: SlowScript;
}

interface LifeguardRow {
  readonly variant: string;
  readonly lifeguard: boolean;
  readonly members: number;
  readonly durationMs: number;
  readonly report: QosReport;
  readonly suspectEvents: number;
  readonly refutations: number;
}

function lifeguardVariants(members: number): LifeguardVariant[] {
  // One member in twenty stalls and one in twenty has slow episodes.
  const share = Math.max(1, Math.round(members / 20));
  const stalling = Array.from({ length: share }, (_, i) => `m${i + 1}`);
  const slow = Array.from({ length: share }, (_, i) => `m${share + i + 1}`);
  const stalls: StallScript = { members: stalling, meanIntervalMs: 30_000, minMs: 2_000, maxMs: 8_000 };
  const slowScript: SlowScript = {
    members: slow,
    meanIntervalMs: 60_000,
    minDurationMs: 10_000,
    maxDurationMs: 30_000,
    minLagMs: 500,
    maxLagMs: 8_000,
  };
  return [
    { name: 'stalls', loss: 0.01, stalls },
    { name: 'slow members', loss: 0.01, slow: slowScript },
    { name: 'stalls + slow', loss: 0.01, stalls, slow: slowScript },
    { name: 'loss 5 %, no anomalies', loss: 0.05 },
  ];
}

function runLifeguard(variant: LifeguardVariant, lifeguard: boolean, members: number, durationMs: number, seed: number): LifeguardRow {
  const config: SwimConfig = swimConfig('lan', { lifeguard });
  const sim = new SwimSimulation({ members, seed, config, faults: { delay: JITTER } });
  sim.bootstrap();
  sim.setFaults({ dropRate: variant.loss, delay: JITTER });
  const qos = sim.startMeasuring();
  const end = sim.clock.now() + durationMs;
  if (variant.stalls !== undefined) sim.stallRandomly(variant.stalls, end);
  if (variant.slow !== undefined) sim.slowRandomly(variant.slow, end);
  sim.run(durationMs);
  return {
    variant: variant.name,
    lifeguard,
    members,
    durationMs,
    report: qos.report(sim.clock.now(), sim.ids),
    suspectEvents: sim.counts.suspect,
    refutations: sim.counts.refuted,
  };
}

// ------------------------------------------------------------------- suite

/**
 * Runs every experiment and returns the rows, the markdown and the charts.
 *
 * @example
 * ```ts
 * const report = runDetectionSuite({ quick: true, log: console.log });
 * writeDetectionExtras('bench/results', report);
 * ```
 */
export function runDetectionSuite(options: DetectionSuiteOptions): DetectionReport {
  const { quick } = options;
  const seed = options.seed ?? 1;
  const log = options.log ?? ((): void => undefined);
  const results: BenchResult[] = [];
  const md: string[] = [];

  // 1. Detector comparison.
  const compMembers = quick ? 30 : 50;
  const compDuration = quick ? 120_000 : 600_000;
  const losses = quick ? [0, 0.05] : [0, 0.01, 0.05, 0.1];
  const comparison: ComparisonRow[] = [];
  for (const loss of losses) {
    for (const detector of DETECTORS) {
      const started = performance.now();
      const row = runComparison(detector, { members: compMembers, durationMs: compDuration, loss, seed });
      comparison.push(row);
      log(`  comparison ${detector}, loss ${pct(loss)}: ${Math.round(performance.now() - started)} ms`);
      const td = row.report.detectionTimesMs;
      results.push({
        system: detector,
        scenario: `compare: N=${compMembers}, loss ${pct(loss)}, jitter, 10 % stalling`,
        clients: compMembers,
        opsPerSec: 0,
        p50Ms: quantile(td, 0.5),
        p99Ms: quantile(td, 0.99),
        members: compMembers,
        lossRate: loss,
        detectionTimeMs: quantile(td, 0.5),
        firstDetectionMs: median(row.report.firstDetectionMs),
        undetected: row.report.undetected,
        falsePositives: row.report.mistakes,
        falsePositivesPerMemberHour: round(row.report.mistakesPerMemberHour, 3),
        mistakeRatePerPairHour: round(row.report.mistakesPerPairHour, 5),
        falsePositivesAboutHealthy: row.report.mistakesByClass['healthy>healthy'] + row.report.mistakesByClass['anomalous>healthy'],
        queryAccuracy: round(row.report.queryAccuracy, 6),
        queryAccuracyHealthy: round(row.report.queryAccuracyHealthy, 6),
        suspicions: row.report.suspicions,
        messagesPerMemberPerSecond: round(row.messagesPerMemberPerSecond, 2),
      });
    }
  }
  md.push(
    '## 1. Detectors under one network',
    '',
    `${compMembers} members on the memory transport for ${compDuration / 1000} s of virtual time after warm-up; every link has the loss shown and exponential jitter (1 ms + mean 5 ms, capped at 100 ms); ${Math.max(1, Math.round(compMembers / 10))} members (10 %) stall for 1–5 s with a mean gap of 30 s (no timers, inbound messages buffered); 3 members crash at 20 %, 45 % and 70 % of the window.`,
    '',
    '- Heartbeat detectors: all-to-all heartbeats every 1 s, checked every 100 ms. Fixed: unavailable after 5 s of silence. Phi accrual: threshold 8, acceptable pause 3 s, min σ 100 ms (the Pekko defaults).',
    '- SWIM: memberlist LAN profile (1 s period, 500 ms probe timeout, 3 indirect probes, suspicion 4·log10(N) periods); with Lifeguard and without (`lifeguard: false`).',
    '- T_D: crash → the observer suspects it for good (SWIM: `dead`), over every (observer, crashed member) pair. λ_M: false transitions to down (SWIM: `dead`) of correct members, per member per hour (by any observer) and per monitored pair per hour. P_A: fraction of time a correct member is trusted (SWIM: `alive` or `suspect`), over all pairs of correct members and over pairs of healthy members. Stalling members are correct members.',
    '',
    '| detector | loss | T_D p50 | T_D p99 | first detection | FP / member·h | λ_M / pair·h | FP about healthy | P_A | P_A healthy | SWIM suspicions | msgs / member·s |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...comparison.map((r) => {
      const td = r.report.detectionTimesMs;
      const fpHealthy = r.report.mistakesByClass['healthy>healthy'] + r.report.mistakesByClass['anomalous>healthy'];
      return `| ${r.detector} | ${pct(r.loss)} | ${(quantile(td, 0.5) / 1000).toFixed(2)} s | ${(quantile(td, 0.99) / 1000).toFixed(2)} s | ${(median(r.report.firstDetectionMs) / 1000).toFixed(2)} s | ${round(r.report.mistakesPerMemberHour, 2)} | ${round(r.report.mistakesPerPairHour, 4)} | ${fpHealthy} | ${r.report.queryAccuracy.toFixed(5)} | ${r.report.queryAccuracyHealthy.toFixed(5)} | ${r.report.suspicions} | ${round(r.messagesPerMemberPerSecond, 1)} |`;
    }),
    '',
  );

  // 2 and 3. Load and dissemination.
  const sizes = [10, 100, 1000];
  const scale: ScaleRow[] = [];
  for (const members of sizes) {
    const started = performance.now();
    const row = runScale(members, { windowMs: quick ? 20_000 : 60_000, settleMs: quick ? 30_000 : 60_000, joins: quick ? 2 : 5, seed });
    scale.push(row);
    log(`  scale N=${members}: ${Math.round(performance.now() - started)} ms`);
    results.push({
      system: 'SWIM+Lifeguard',
      scenario: `scale: N=${members}, loss 1 %, jitter`,
      clients: members,
      opsPerSec: 0,
      p50Ms: median(row.disseminationPeriods) * 1000,
      p99Ms: quantile([...row.disseminationPeriods].sort((a, b) => a - b), 0.99) * 1000,
      members,
      messagesPerMemberPerPeriod: round(row.messagesPerMemberPerPeriod, 3),
      bytesPerMemberPerPeriod: Math.round(row.bytesPerMemberPerPeriod),
      messagesByType: row.byType,
      disseminationPeriods: round(median(row.disseminationPeriods), 2),
      disseminationSamples: row.disseminationPeriods.map((p) => round(p, 2)),
    });
  }
  const loadRatio = scale[2]!.messagesPerMemberPerPeriod / scale[0]!.messagesPerMemberPerPeriod;
  const dissem = scale.map((r) => median(r.disseminationPeriods));
  md.push(
    '## 2. SWIM message load per member',
    '',
    `Memberlist LAN profile with Lifeguard, 1 % loss, jitter as above. Window of ${quick ? 20 : 60} s after bootstrap and a settling minute. Messages sent per member per protocol period (1 s), all SWIM message types.`,
    '',
    '| members | msgs / member·period | bytes / member·period | ping | ack | ping-req | nack | gossip | push-pull |',
    '|---|---|---|---|---|---|---|---|---|',
    ...scale.map((r) => {
      const per = (type: string): string => round((r.byType[type] ?? 0) / r.members / r.periods, 3).toString();
      return `| ${r.members} | ${round(r.messagesPerMemberPerPeriod, 3)} | ${Math.round(r.bytesPerMemberPerPeriod)} | ${per('ping')} | ${per('ack')} | ${per('ping-req')} | ${per('nack')} | ${per('gossip')} | ${per('push-pull')} |`;
    }),
    '',
    `Load at N=1000 ÷ load at N=10: **${round(loadRatio, 2)}** (flat means close to 1; bytes grow with the push-pull state, which is exchanged less often in larger clusters).`,
    '',
    '## 3. Dissemination time',
    '',
    `A new member joins through a random member; time from its join request until every other member has it alive, in protocol periods (1 s). Median of ${quick ? 2 : 5} joins per size.`,
    '',
    '| members | periods (median) | samples | log10 N | periods ÷ log10 N |',
    '|---|---|---|---|---|',
    ...scale.map((r, i) => `| ${r.members} | ${round(dissem[i]!, 2)} | ${r.disseminationPeriods.map((p) => round(p, 2)).join(', ')} | ${Math.log10(r.members)} | ${round(dissem[i]! / Math.log10(r.members), 2)} |`),
    '',
  );

  // 4. Lifeguard on and off.
  const lgMembers = quick ? 50 : 100;
  const lgDuration = quick ? 120_000 : 1_800_000;
  const lifeguardRows: LifeguardRow[] = [];
  for (const variant of lifeguardVariants(lgMembers)) {
    for (const lifeguard of [false, true]) {
      const started = performance.now();
      const row = runLifeguard(variant, lifeguard, lgMembers, lgDuration, seed);
      lifeguardRows.push(row);
      log(`  lifeguard ${lifeguard ? 'on' : 'off'}, ${variant.name}: ${Math.round(performance.now() - started)} ms`);
      const fpHealthy = row.report.mistakesByClass['healthy>healthy'] + row.report.mistakesByClass['anomalous>healthy'];
      results.push({
        system: lifeguard ? 'SWIM+Lifeguard' : 'SWIM',
        scenario: `lifeguard: N=${lgMembers}, ${variant.name}, loss ${pct(variant.loss)}`,
        clients: lgMembers,
        opsPerSec: 0,
        p50Ms: 0,
        p99Ms: 0,
        members: lgMembers,
        falsePositives: row.report.mistakes,
        falsePositivesAboutHealthy: fpHealthy,
        falsePositivesByClass: row.report.mistakesByClass,
        falsePositivesPerMemberHour: round(row.report.mistakesPerMemberHour, 3),
        membersWronglyDeclaredDead: row.report.membersWronglyDown,
        suspectEvents: row.suspectEvents,
        suspicionsOfHealthyByHealthy: row.report.suspicionsByClass['healthy>healthy'],
        refutations: row.refutations,
        queryAccuracy: round(row.report.queryAccuracy, 6),
      });
    }
  }
  const ratio = (a: number, b: number): string => (b === 0 ? (a === 0 ? 'n/a (0 and 0)' : `> ${a} (${a} vs 0)`) : `${round(a / b, 1)}×`);
  md.push(
    '## 4. False positives with Lifeguard on and off',
    '',
    `${lgMembers} members, memberlist LAN profile, ${lgDuration / 1000} s of virtual time, jitter as above. One member in twenty (ids m1…) stalls for 2–8 s with a mean gap of 30 s; one in twenty (the next ids) has slow episodes of 10–30 s, mean gap 60 s, during which it handles every message 0.5–8 s late while its timers still fire on time. No member crashes, so every \`dead\` is a false positive. A false positive is counted per observer (one member wrongly declaring another dead), as in the Lifeguard paper; "about healthy" excludes declarations about the stalling or slow members themselves.`,
    '',
    '| scenario | Lifeguard | FP (dead) | FP about healthy | members wrongly dead | FP / member·h | suspect events | healthy→healthy suspicions | refutations | P_A |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...lifeguardRows.map((r) => {
      const fpHealthy = r.report.mistakesByClass['healthy>healthy'] + r.report.mistakesByClass['anomalous>healthy'];
      return `| ${r.variant} | ${r.lifeguard ? 'on' : 'off'} | ${r.report.mistakes} | ${fpHealthy} | ${r.report.membersWronglyDown} | ${round(r.report.mistakesPerMemberHour, 2)} | ${r.suspectEvents} | ${r.report.suspicionsByClass['healthy>healthy']} | ${r.refutations} | ${r.report.queryAccuracy.toFixed(5)} |`;
    }),
    '',
    '| scenario | FP ratio off ÷ on | FP-about-healthy ratio | suspect-event ratio |',
    '|---|---|---|---|',
    ...lifeguardVariants(lgMembers).map((v) => {
      const off = lifeguardRows.find((r) => r.variant === v.name && !r.lifeguard)!;
      const on = lifeguardRows.find((r) => r.variant === v.name && r.lifeguard)!;
      const h = (r: LifeguardRow): number => r.report.mistakesByClass['healthy>healthy'] + r.report.mistakesByClass['anomalous>healthy'];
      return `| ${v.name} | ${ratio(off.report.mistakes, on.report.mistakes)} | ${ratio(h(off), h(on))} | ${ratio(off.suspectEvents, on.suspectEvents)} |`;
    }),
    '',
  );

  const charts: Record<string, string> = {
    'detection-time.svg': barChart({
      title: 'Detection time T_D (median), by loss rate',
      yLabel: 'seconds',
      categories: losses.map(pct),
      series: DETECTORS.map((d) => ({
        name: d,
        values: losses.map((l) => quantile(comparison.find((r) => r.detector === d && r.loss === l)!.report.detectionTimesMs, 0.5) / 1000),
      })),
    }),
    'detection-false-positives.svg': barChart({
      title: 'False positives per member-hour (log scale), by loss rate',
      yLabel: 'false positives / member·h',
      logY: true,
      categories: losses.map(pct),
      series: DETECTORS.map((d) => ({
        name: d,
        values: losses.map((l) => comparison.find((r) => r.detector === d && r.loss === l)!.report.mistakesPerMemberHour),
      })),
    }),
    'detection-load.svg': lineChart({
      title: 'SWIM messages per member per protocol period',
      xLabel: 'members (log scale)',
      yLabel: 'messages / member·period',
      logX: true,
      series: [{ name: 'SWIM+Lifeguard', points: scale.map((r) => [r.members, r.messagesPerMemberPerPeriod] as const) }],
    }),
    'detection-dissemination.svg': lineChart({
      title: 'Dissemination of a join to every member',
      xLabel: 'members (log scale)',
      yLabel: 'protocol periods',
      logX: true,
      series: [
        { name: 'measured (median)', points: scale.map((r, i) => [r.members, dissem[i]!] as const) },
        { name: 'log10 N', points: scale.map((r) => [r.members, Math.log10(r.members)] as const) },
      ],
    }),
    'detection-lifeguard.svg': barChart({
      title: 'False positives (dead) with and without Lifeguard (log scale)',
      yLabel: 'false positives',
      logY: true,
      categories: lifeguardVariants(lgMembers).map((v) => v.name),
      series: [false, true].map((lifeguard) => ({
        name: lifeguard ? 'SWIM+Lifeguard' : 'SWIM',
        values: lifeguardVariants(lgMembers).map((v) => lifeguardRows.find((r) => r.variant === v.name && r.lifeguard === lifeguard)!.report.mistakes),
      })),
    }),
  };

  const machine = machineFacts();
  const markdown = [
    '# detection',
    '',
    `${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.date}`,
    '',
    `Seed ${seed}${quick ? ', quick run' : ''}. All figures are from simulations on virtual time (memory transport, \`VirtualClock\`), so they replay exactly from the seed. Charts: ${Object.keys(charts).map((c) => `[${c}](${c})`).join(', ')}.`,
    '',
    ...md,
  ].join('\n');
  return { results, markdown, charts };
}

/** Writes the markdown tables and the SVG charts next to the JSON report. */
export function writeDetectionExtras(outDir: string, report: DetectionReport): void {
  writeFileSync(join(outDir, 'detection.md'), report.markdown);
  for (const [name, svg] of Object.entries(report.charts)) writeFileSync(join(outDir, name), svg);
}

/**
 * The `detection` entry of the bench CLI: `run` measures, `afterReport`
 * replaces the generic markdown with the detection tables and adds the charts.
 *
 * @example
 * ```ts
 * const suites = { detection: detectionBenchSuite() };
 * ```
 */
export function detectionBenchSuite(): {
  readonly description: string;
  run(quick: boolean): Promise<BenchResult[]>;
  afterReport(outDir: string): void;
} {
  let last: DetectionReport | undefined;
  return {
    description: 'failure detectors under loss, jitter and stalls; SWIM load, dissemination, Lifeguard on/off',
    run: (quick) => {
      last = runDetectionSuite({ quick, log: (line) => process.stdout.write(`${line}\n`) });
      return Promise.resolve(last.results);
    },
    afterReport: (outDir) => {
      if (last !== undefined) writeDetectionExtras(outDir, last);
    },
  };
}
