import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HeartbeatDetector, PhiAccrualDetector, pushPullInterval, swimConfig, type NodeId, type SwimConfig, type SwimMessage } from '@synod/core';
import { encodeSwimMessage } from '@synod/protocol';
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
 * The failure-detection benchmark: the trade-off between detection time and
 * mistakes of four detector families (each swept over its main setting),
 * SWIM's message load (windows of at least two push-pull intervals, real
 * encoded bytes, a churn scenario) and dissemination time as the cluster
 * grows, and Lifeguard on and off with stalls, slow members and crashes.
 * Every figure is the median over several seeds with the min–max spread.
 * Everything runs on virtual time, so the figures are exact replays of their
 * seeds and independent of the machine; only the wall time of the run is not.
 */

/** Options of {@link runDetectionSuite}. */
export interface DetectionSuiteOptions {
  /** A short run (< 60 s) for smoke checks: fewer loss levels, shorter windows, smaller clusters. */
  readonly quick: boolean;
  /** Seeds; every figure is the median over them with their spread. @default [1, 2, 3, 4, 5] */
  readonly seeds?: readonly number[];
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

const FAMILIES = ['heartbeat (fixed timeout)', 'phi accrual (pause 3 s)', 'SWIM', 'SWIM+Lifeguard'] as const;
type DetectorFamily = (typeof FAMILIES)[number];

/** One detector setting: the family and the value of the knob swept (timeout ms, phi threshold, suspicion multiplier). */
interface DetectorSetting {
  readonly family: DetectorFamily;
  readonly knob: number;
}

function settingLabel(setting: DetectorSetting): string {
  switch (setting.family) {
    case 'heartbeat (fixed timeout)':
      return `timeout ${setting.knob / 1000} s`;
    case 'phi accrual (pause 3 s)':
      return `φ ${setting.knob}`;
    default:
      return `suspicion mult ${setting.knob}`;
  }
}

/** Median and min–max of per-seed values. */
interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), min: sorted[0] ?? 0, max: sorted[sorted.length - 1] ?? 0 };
}

function showSpread(s: Spread, digits = 2, scale = 1): string {
  const f = (v: number): string => round(v / scale, digits).toString();
  return s.min === s.max ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

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
  readonly setting: DetectorSetting;
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

function runComparison(setting: DetectorSetting, setup: ComparisonSetup): ComparisonRow {
  const detector = setting.family;
  const faults: LinkFaults = { dropRate: setup.loss, delay: JITTER };
  const { stalls, crashes } = comparisonFaults(setup);
  let measure: () => { report: QosReport; sent: number };
  let schedule: (atMs: number, act: () => void) => void;
  if (detector === 'SWIM' || detector === 'SWIM+Lifeguard') {
    const config = swimConfig('lan', { lifeguard: detector === 'SWIM+Lifeguard', suspicionMult: setting.knob });
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
        detector === 'heartbeat (fixed timeout)'
          ? new HeartbeatDetector({ timeoutMs: setting.knob })
          : new PhiAccrualDetector({ threshold: setting.knob, acceptableHeartbeatPauseMs: 3_000 }),
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
    setting,
    loss: setup.loss,
    members: setup.members,
    report,
    messagesPerMemberPerSecond: sent / setup.members / (setup.durationMs / 1000),
  };
}

// ------------------------------------------------------- experiments 2 and 3

interface ScaleRow {
  readonly members: number;
  readonly windowMs: number;
  /** Bytes of the SWIM messages as `swimPayloadCodec` encodes them, plus the envelope's ids, per member per period. */
  readonly wireBytesPerMemberPerPeriod: number;
  readonly messagesPerMemberPerPeriod: number;
  readonly bytesPerMemberPerPeriod: number;
  readonly byType: Readonly<Record<string, number>>;
  readonly periods: number;
  /** Protocol periods until every member saw a new member, one sample per join. */
  readonly disseminationPeriods: readonly number[];
  readonly bootstrapMs: number;
}

/**
 * The load window at N members: two push-pull intervals (which grow with N),
 * and never less than a minute, so that every member's full-state exchanges
 * are in it at every size.
 */
function loadWindowMs(members: number): number {
  return Math.max(60_000, 2 * pushPullInterval(swimConfig('lan').pushPullIntervalMs, members));
}

/** Counts the encoded size of every SWIM message the simulation sends. */
function wireBytesCounter(sim: SwimSimulation): { bytes: number } {
  const counter = { bytes: 0 };
  sim.network.observe((event) => {
    if (event.type !== 'send' || event.envelope.protocol !== 'swim') return;
    // Envelope framing: cluster id, both ids, the protocol name and a few tag bytes.
    const envelope = event.envelope;
    counter.bytes += encodeSwimMessage(envelope.payload as SwimMessage).length + envelope.clusterId.length + envelope.from.length + envelope.to.length + 4 + 10;
  });
  return counter;
}

function runScale(
  members: number,
  options: { settleMs: number; joins: number; seed: number; churn?: number },
): ScaleRow {
  const config = swimConfig('lan');
  const sim = new SwimSimulation({ members, seed: options.seed, config, faults: { dropRate: 0.01, delay: JITTER } });
  const bootstrapMs = sim.bootstrap();
  // Let the join news drain from the transmit queues: the window should see the steady state.
  sim.run(options.settleMs);
  const windowMs = loadWindowMs(members);
  const wire = wireBytesCounter(sim);
  sim.startMeasuring();
  const wireAtStart = wire.bytes;
  if (options.churn !== undefined && options.churn > 0) {
    // Churn: `churn` members are replaced, evenly over the window: one crashes
    // and a new one joins through a random running member.
    for (let i = 0; i < options.churn; i++) {
      sim.clock.setTimeout(() => {
        const running = sim.running;
        sim.crash(running[sim.random.int(running.length)]!);
        const alive = sim.running;
        sim.addMember(alive[sim.random.int(alive.length)]!, `churn-${i}`);
      }, Math.round(((i + 0.5) * windowMs) / options.churn));
    }
  }
  sim.run(windowMs);
  const load = sim.load();
  const wireBytesPerMemberPerPeriod = (wire.bytes - wireAtStart) / (load.members * load.periods);

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
    windowMs,
    wireBytesPerMemberPerPeriod,
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
  readonly seed: number;
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

/** Lifeguard runs crash three members (the last ids, never a stalling or slow one) at 20, 45 and 70 % of the window. */
function runLifeguard(variant: LifeguardVariant, lifeguard: boolean, members: number, durationMs: number, seed: number): LifeguardRow {
  const config: SwimConfig = swimConfig('lan', { lifeguard });
  const sim = new SwimSimulation({ members, seed, config, faults: { delay: JITTER } });
  sim.bootstrap();
  sim.setFaults({ dropRate: variant.loss, delay: JITTER });
  const qos = sim.startMeasuring();
  const end = sim.clock.now() + durationMs;
  if (variant.stalls !== undefined) sim.stallRandomly(variant.stalls, end);
  if (variant.slow !== undefined) sim.slowRandomly(variant.slow, end);
  for (const [i, f] of [0.2, 0.45, 0.7].entries()) sim.clock.setTimeout(() => sim.crash(`m${members - 1 - i}`), Math.round(durationMs * f));
  sim.run(durationMs);
  return {
    variant: variant.name,
    seed,
    lifeguard,
    members,
    durationMs,
    report: qos.report(sim.clock.now(), sim.ids),
    suspectEvents: sim.counts.suspect,
    refutations: sim.counts.refuted,
  };
}

// ------------------------------------------------------------------- suite

const SWEEPS: Readonly<Record<DetectorFamily, readonly number[]>> = {
  'heartbeat (fixed timeout)': [2_000, 3_000, 5_000, 8_000],
  'phi accrual (pause 3 s)': [1, 4, 8, 16],
  SWIM: [1, 2, 4, 6],
  'SWIM+Lifeguard': [1, 2, 4, 6],
};

const fpHealthyOf = (report: QosReport): number => report.mistakesByClass['healthy>healthy'] + report.mistakesByClass['anomalous>healthy'];

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
  const seeds = options.seeds ?? [1, 2, 3, 4, 5];
  const log = options.log ?? ((): void => undefined);
  const results: BenchResult[] = [];
  const md: string[] = [];
  const timed = <T>(label: string, run: () => T): T => {
    const started = performance.now();
    const value = run();
    log(`  ${label}: ${Math.round(performance.now() - started)} ms`);
    return value;
  };

  // 1. Trade-off curves: detection time against mistakes, per detector family.
  const compMembers = quick ? 20 : 50;
  const compDuration = quick ? 60_000 : 300_000;
  const compLoss = 0.01;
  interface CurvePoint {
    readonly setting: DetectorSetting;
    readonly detection: Spread;
    readonly mistakes: Spread;
    readonly mistakesAboutHealthy: Spread;
    readonly messagesPerMemberPerSecond: Spread;
  }
  const curves: CurvePoint[] = [];
  for (const family of FAMILIES) {
    for (const knob of SWEEPS[family]) {
      const setting = { family, knob };
      const rows = seeds.map((seed) =>
        timed(`trade-off ${family}, ${settingLabel(setting)}, seed ${seed}`, () =>
          runComparison(setting, { members: compMembers, durationMs: compDuration, loss: compLoss, seed }),
        ),
      );
      const point: CurvePoint = {
        setting,
        detection: spread(rows.map((r) => quantile([...r.report.detectionTimesMs].sort((a, b) => a - b), 0.5))),
        mistakes: spread(rows.map((r) => r.report.mistakesPerMemberHour)),
        mistakesAboutHealthy: spread(rows.map((r) => fpHealthyOf(r.report))),
        messagesPerMemberPerSecond: spread(rows.map((r) => r.messagesPerMemberPerSecond)),
      };
      curves.push(point);
      results.push({
        system: family,
        scenario: `trade-off: N=${compMembers}, loss ${pct(compLoss)}, ${settingLabel(setting)}, ${seeds.length} seeds`,
        clients: compMembers,
        opsPerSec: 0,
        p50Ms: point.detection.median,
        p99Ms: point.detection.max,
        members: compMembers,
        lossRate: compLoss,
        detectionTimeMs: point.detection.median,
        detectionTimeMinMs: point.detection.min,
        detectionTimeMaxMs: point.detection.max,
        falsePositivesPerMemberHour: round(point.mistakes.median, 3),
        falsePositivesPerMemberHourMin: round(point.mistakes.min, 3),
        falsePositivesPerMemberHourMax: round(point.mistakes.max, 3),
        falsePositivesAboutHealthy: point.mistakesAboutHealthy.median,
        messagesPerMemberPerSecond: round(point.messagesPerMemberPerSecond.median, 2),
        seeds: seeds.length,
      });
    }
  }
  md.push(
    '## 1. Detection time against mistakes',
    '',
    `${compMembers} members on the memory transport for ${compDuration / 1000} s of virtual time after warm-up, ${pct(compLoss)} loss on every link and exponential jitter (1 ms + mean 5 ms, capped at 100 ms); ${Math.max(1, Math.round(compMembers / 10))} members (10 %) stall for 1–5 s with a mean gap of 30 s (no timers, inbound messages buffered); 3 members crash at 20 %, 45 % and 70 % of the window. Each detector family is swept over its main setting; every cell is the median over ${seeds.length} seeds (${seeds.join(', ')}) with the min–max in brackets.`,
    '',
    '- Heartbeat detectors: all-to-all heartbeats every 1 s, checked every 100 ms; the fixed detector is swept over its timeout, phi accrual over its threshold (acceptable pause 3 s, min σ 100 ms: the Pekko defaults).',
    '- SWIM: memberlist LAN profile (1 s period, 500 ms probe timeout, 3 indirect probes), swept over the suspicion multiplier (the minimum suspicion timeout is mult · max(1, log10 N) periods); with Lifeguard and without.',
    '- T_D: crash → the observer suspects it for good (SWIM: `dead`), median over (observer, crashed member) pairs. FP: false transitions to down (SWIM: `dead`) of correct members, per member per hour. Stalling members are correct members, so FP counts verdicts about them too; "FP about healthy" (a count over the run) leaves those out.',
    '- A detector is better than another only if it makes fewer mistakes at the same detection time: compare the curves in [detection-tradeoff.svg](detection-tradeoff.svg), not single rows.',
    '',
    '| detector | setting | T_D p50 (s) | FP / member·h | FP about healthy | msgs / member·s |',
    '|---|---|---|---|---|---|',
    ...curves.map(
      (p) =>
        `| ${p.setting.family} | ${settingLabel(p.setting)} | ${showSpread(p.detection, 2, 1000)} | ${showSpread(p.mistakes, 2)} | ${showSpread(p.mistakesAboutHealthy, 0)} | ${showSpread(p.messagesPerMemberPerSecond, 1)} |`,
    ),
    '',
  );

  // 2 and 3. Load (with push-pull) and dissemination, plus churn.
  const sizes = [10, 100, 1000];
  const loadSeeds = quick ? seeds.slice(0, 2) : seeds;
  interface ScalePoint {
    readonly members: number;
    readonly windowMs: number;
    readonly churn: number;
    readonly rows: readonly ScaleRow[];
  }
  const scale: ScalePoint[] = [];
  const scenarios: { members: number; churn: number }[] = [...sizes.map((members) => ({ members, churn: 0 })), { members: 100, churn: 10 }];
  for (const { members, churn } of scenarios) {
    const rows = loadSeeds.map((seed) =>
      timed(`load N=${members}${churn > 0 ? `, churn ${churn}` : ''}, seed ${seed}`, () =>
        runScale(members, { settleMs: 30_000, joins: churn > 0 ? 0 : quick ? 1 : 3, seed, churn }),
      ),
    );
    const point: ScalePoint = { members, windowMs: rows[0]!.windowMs, churn, rows };
    scale.push(point);
    const msgs = spread(rows.map((r) => r.messagesPerMemberPerPeriod));
    const bytes = spread(rows.map((r) => r.wireBytesPerMemberPerPeriod));
    const dissemination = rows.flatMap((r) => r.disseminationPeriods);
    results.push({
      system: 'SWIM+Lifeguard',
      scenario: `load: N=${members}${churn > 0 ? `, ${churn} members replaced` : ''}, loss 1 %, window ${point.windowMs / 1000} s, ${loadSeeds.length} seeds`,
      clients: members,
      opsPerSec: 0,
      p50Ms: dissemination.length > 0 ? median(dissemination) * 1000 : 0,
      p99Ms: dissemination.length > 0 ? quantile([...dissemination].sort((a, b) => a - b), 0.99) * 1000 : 0,
      members,
      windowMs: point.windowMs,
      messagesPerMemberPerPeriod: round(msgs.median, 3),
      messagesPerMemberPerPeriodMin: round(msgs.min, 3),
      messagesPerMemberPerPeriodMax: round(msgs.max, 3),
      wireBytesPerMemberPerPeriod: Math.round(bytes.median),
      wireBytesPerMemberPerPeriodMin: Math.round(bytes.min),
      wireBytesPerMemberPerPeriodMax: Math.round(bytes.max),
      messagesByType: rows[0]!.byType,
      ...(dissemination.length > 0 ? { disseminationPeriods: round(median(dissemination), 2), disseminationSamples: dissemination.map((p) => round(p, 2)) } : {}),
      seeds: loadSeeds.length,
    });
  }
  const steady = scale.filter((p) => p.churn === 0);
  const churned = scale.find((p) => p.churn > 0)!;
  const msgsOf = (p: ScalePoint): Spread => spread(p.rows.map((r) => r.messagesPerMemberPerPeriod));
  const bytesOf = (p: ScalePoint): Spread => spread(p.rows.map((r) => r.wireBytesPerMemberPerPeriod));
  const perType = (p: ScalePoint, type: string): string =>
    showSpread(spread(p.rows.map((r) => (r.byType[type] ?? 0) / (r.members + p.churn) / r.periods)), 3);
  md.push(
    '## 2. SWIM load per member, push-pull included',
    '',
    `Memberlist LAN profile with Lifeguard, 1 % loss, jitter as above, ${loadSeeds.length} seeds. After bootstrap and 30 s of settling, the window covers two push-pull intervals at every size (the interval grows with N: 30 s up to 32 members, then one more multiple per doubling), and at least 60 s. Bytes are the SWIM messages as \`swimPayloadCodec\` encodes them plus the envelope's ids, so push-pull's full member lists count at their real size. Churn: ${churned.churn} of ${churned.members} members replaced (crash + a new member joining) evenly over the window.`,
    '',
    '| members | window | msgs / member·period | wire bytes / member·period | ping | ack | ping-req | nack | gossip | push-pull |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...scale.map(
      (p) =>
        `| ${p.members}${p.churn > 0 ? `, churn ${p.churn}` : ''} | ${p.windowMs / 1000} s | ${showSpread(msgsOf(p), 3)} | ${showSpread(bytesOf(p), 0)} | ${perType(p, 'ping')} | ${perType(p, 'ack')} | ${perType(p, 'ping-req')} | ${perType(p, 'nack')} | ${perType(p, 'gossip')} | ${perType(p, 'push-pull')} |`,
    ),
    '',
    `Messages per member per period, N=1000 ÷ N=10: **${round(msgsOf(steady[2]!).median / msgsOf(steady[0]!).median, 2)}**; bytes: **${round(bytesOf(steady[2]!).median / bytesOf(steady[0]!).median, 1)}×** (push-pull carries the whole member list, so its bytes grow with N even though it runs less often).`,
    '',
    '## 3. Dissemination time',
    '',
    `A new member joins through a random member; time from its join request until every other member has it alive, in protocol periods (1 s). Samples from every seed.`,
    '',
    '| members | periods (median) | samples | log10 N |',
    '|---|---|---|---|',
    ...steady.map((p) => {
      const samples = p.rows.flatMap((r) => r.disseminationPeriods);
      return `| ${p.members} | ${round(median(samples), 2)} | ${samples.map((v) => round(v, 2)).join(', ')} | ${Math.log10(p.members)} |`;
    }),
    '',
  );

  // 4. Lifeguard on and off, with crashes.
  const lgMembers = quick ? 30 : 50;
  const lgDuration = quick ? 120_000 : 600_000;
  const lifeguardRows: LifeguardRow[] = [];
  for (const variant of lifeguardVariants(lgMembers)) {
    for (const lifeguard of [false, true]) {
      for (const seed of seeds) {
        lifeguardRows.push(
          timed(`lifeguard ${lifeguard ? 'on' : 'off'}, ${variant.name}, seed ${seed}`, () => runLifeguard(variant, lifeguard, lgMembers, lgDuration, seed)),
        );
      }
    }
  }
  const lgCell = (variant: string, lifeguard: boolean, of: (r: LifeguardRow) => number): Spread =>
    spread(lifeguardRows.filter((r) => r.variant === variant && r.lifeguard === lifeguard).map(of));
  const tdOf = (r: LifeguardRow): number => quantile([...r.report.detectionTimesMs].sort((a, b) => a - b), 0.5);
  for (const variant of lifeguardVariants(lgMembers)) {
    for (const lifeguard of [false, true]) {
      const fp = lgCell(variant.name, lifeguard, (r) => r.report.mistakes);
      const td = lgCell(variant.name, lifeguard, tdOf);
      results.push({
        system: lifeguard ? 'SWIM+Lifeguard' : 'SWIM',
        scenario: `lifeguard: N=${lgMembers}, ${variant.name}, loss ${pct(variant.loss)}, 3 crashes, ${seeds.length} seeds`,
        clients: lgMembers,
        opsPerSec: 0,
        p50Ms: td.median,
        p99Ms: td.max,
        members: lgMembers,
        detectionTimeMs: td.median,
        detectionTimeMinMs: td.min,
        detectionTimeMaxMs: td.max,
        falsePositives: fp.median,
        falsePositivesMin: fp.min,
        falsePositivesMax: fp.max,
        falsePositivesAboutHealthy: lgCell(variant.name, lifeguard, (r) => fpHealthyOf(r.report)).median,
        suspectEvents: lgCell(variant.name, lifeguard, (r) => r.suspectEvents).median,
        seeds: seeds.length,
      });
    }
  }
  md.push(
    '## 4. Lifeguard on and off',
    '',
    `${lgMembers} members, memberlist LAN profile, ${lgDuration / 1000} s of virtual time, jitter as above, ${seeds.length} seeds (median, min–max). One member in twenty (ids m1…) stalls for 2–8 s with a mean gap of 30 s; one in twenty (the next ids) has slow episodes of 10–30 s, mean gap 60 s, during which it handles every message 0.5–8 s late while its timers still fire on time. Three other members crash at 20 %, 45 % and 70 % of the window: T_D is the median time from a crash to \`dead\` at an observer. A false positive is one member wrongly declaring a correct one dead; "about healthy" leaves out verdicts about the stalling or slow members themselves.`,
    '',
    '| scenario | Lifeguard | T_D p50 (s) | FP (dead) | FP about healthy | suspect events |',
    '|---|---|---|---|---|---|',
    ...lifeguardVariants(lgMembers).flatMap((v) =>
      [false, true].map(
        (lifeguard) =>
          `| ${v.name} | ${lifeguard ? 'on' : 'off'} | ${showSpread(lgCell(v.name, lifeguard, tdOf), 2, 1000)} | ${showSpread(lgCell(v.name, lifeguard, (r) => r.report.mistakes), 0)} | ${showSpread(lgCell(v.name, lifeguard, (r) => fpHealthyOf(r.report)), 0)} | ${showSpread(lgCell(v.name, lifeguard, (r) => r.suspectEvents), 0)} |`,
      ),
    ),
    '',
  );

  const charts: Record<string, string> = {
    'detection-tradeoff.svg': lineChart({
      title: `Mistakes against detection time (N=${compMembers}, loss 1 %, median of ${seeds.length} seeds)`,
      xLabel: 'detection time T_D p50 (s)',
      yLabel: 'false positives / member·h',
      xTicks: 'round',
      series: FAMILIES.map((family) => ({
        name: family,
        points: curves
          .filter((p) => p.setting.family === family)
          .map((p) => [p.detection.median / 1000, p.mistakes.median] as const)
          .sort((a, b) => a[0] - b[0]),
      })),
    }),
    'detection-load.svg': lineChart({
      title: 'SWIM messages per member per protocol period (push-pull included)',
      xLabel: 'members (log scale)',
      yLabel: 'messages / member·period',
      logX: true,
      series: [{ name: 'SWIM+Lifeguard', points: steady.map((p) => [p.members, msgsOf(p).median] as const) }],
    }),
    'detection-bytes.svg': lineChart({
      title: 'SWIM wire bytes per member per protocol period (push-pull included)',
      xLabel: 'members (log scale)',
      yLabel: 'bytes / member·period',
      logX: true,
      series: [{ name: 'SWIM+Lifeguard', points: steady.map((p) => [p.members, bytesOf(p).median] as const) }],
    }),
    'detection-dissemination.svg': lineChart({
      title: 'Dissemination of a join to every member',
      xLabel: 'members (log scale)',
      yLabel: 'protocol periods',
      logX: true,
      series: [
        { name: 'measured (median)', points: steady.map((p) => [p.members, median(p.rows.flatMap((r) => r.disseminationPeriods))] as const) },
        { name: 'log10 N', points: steady.map((p) => [p.members, Math.log10(p.members)] as const) },
      ],
    }),
    'detection-lifeguard.svg': barChart({
      title: 'Detection time of a crash (median), Lifeguard off and on',
      yLabel: 'seconds',
      categories: lifeguardVariants(lgMembers).map((v) => v.name),
      series: [false, true].map((lifeguard) => ({
        name: lifeguard ? 'SWIM+Lifeguard' : 'SWIM',
        values: lifeguardVariants(lgMembers).map((v) => lgCell(v.name, lifeguard, tdOf).median / 1000),
      })),
    }),
  };

  const machine = machineFacts();
  const markdown = [
    '# detection',
    '',
    `${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.date}`,
    '',
    `Seeds ${seeds.join(', ')}${quick ? ', quick run (smaller clusters, shorter windows)' : ''}. All figures are from simulations on virtual time (memory transport, \`VirtualClock\`), so they replay exactly from the seeds. Charts: ${Object.keys(charts).map((c) => `[${c}](${c})`).join(', ')}.`,
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
    description: 'failure detectors: mistakes against detection time per detector (5 seeds), SWIM load with push-pull and churn, dissemination, Lifeguard on/off with crashes',
    run: (quick) => {
      last = runDetectionSuite({ quick, log: (line) => process.stdout.write(`${line}\n`) });
      return Promise.resolve(last.results);
    },
    afterReport: (outDir) => {
      if (last !== undefined) writeDetectionExtras(outDir, last);
    },
  };
}
