import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { swimConfig, swimDetectionBoundMs } from '@synod/core';
import type { BenchResult } from '../results.js';
import { freePorts, sleep } from '../systems/process.js';

/** `synod serve` itself (the demo CLI's entry), as in the kv-grpc suite. */
const SYNOD_SERVE = fileURLToPath(new URL('./kv-grpc-serve.js', import.meta.url));

/** Options of {@link detectionProcessesSuite}. */
export interface DetectionProcessesOptions {
  /** SIGKILLs, one member at a time, each restarted before the next. */
  readonly kills: number;
  /** Length of the healthy run with UDP loss, minutes. */
  readonly healthyMinutes: number;
  /** Loss of every datagram between two members in the healthy run (0.01 = 1 %). */
  readonly lossRate: number;
  /** Length of each lossy-member run (fallback on, then off), minutes. */
  readonly lossyMinutes: number;
  /** Loss of each datagram one member sends and receives in the lossy-member runs. */
  readonly lossyMemberRate: number;
  /** `kills`, `healthy`, `lossy-member`; all when undefined. */
  readonly scenarios?: readonly string[];
  readonly log?: (line: string) => void;
}

/** One `swim: <member> is <state>` line, timed by the observer's own log timestamp. */
interface SwimEvent {
  readonly atMs: number;
  readonly observer: string;
  readonly member: string;
  readonly state: string;
}

const SWIM_MESSAGE = /^swim: (\S+) is (alive|suspect|dead|left)$/;
const STATS_MESSAGE = 'swim: datagram path stats';

/** One JSON log record of `synod serve` (pino), or undefined for any other line. */
function logRecord(line: string): ({ msg: string; node?: string; time?: string } & Record<string, unknown>) | undefined {
  if (!line.startsWith('{') || !line.endsWith('}')) return undefined;
  const record = JSON.parse(line) as Record<string, unknown>;
  return typeof record['msg'] === 'string' ? (record as { msg: string } & Record<string, unknown>) : undefined;
}

/** One `synod serve --swim-transport udp` process whose SWIM lines are collected. */
class ServeMember {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  output = '';
  lastStats: Record<string, number> | undefined;

  constructor(
    readonly id: string,
    readonly args: readonly string[],
    readonly events: SwimEvent[],
  ) {}

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  async start(extraArgs: readonly string[] = []): Promise<void> {
    const child = spawn(process.execPath, [SYNOD_SERVE, ...this.args, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.output = '';
    let partial = '';
    const onData = (chunk: Buffer): void => {
      const text = partial + chunk.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        this.output = (this.output + line + '\n').slice(-32_768);
        const record = logRecord(line);
        if (record === undefined) continue;
        const swim = SWIM_MESSAGE.exec(record.msg);
        if (swim !== null) this.events.push({ atMs: Date.parse(String(record['time'])), observer: String(record['node']), member: swim[1]!, state: swim[2]! });
        if (record.msg === STATS_MESSAGE) {
          this.lastStats = Object.fromEntries(Object.entries(record).filter((entry): entry is [string, number] => typeof entry[1] === 'number'));
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const limit = Date.now() + 60_000;
    while (!this.output.includes('serving cluster')) {
      if (!this.running) throw new Error(`${this.id} exited during start-up:\n${this.output}`);
      if (Date.now() > limit) throw new Error(`${this.id} did not start within 60 s:\n${this.output}`);
      await sleep(25);
    }
  }

  async kill(signal: NodeJS.Signals): Promise<number> {
    if (!this.running) return Date.now();
    this.#child!.kill(signal);
    const at = Date.now();
    await this.#exited;
    return at;
  }
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const round = (ms: number): number => Math.round(ms);

/**
 * Failure detection between five real `synod serve` processes on loopback,
 * over SWIM's datagram path (`--swim-transport udp`, the LAN profile as
 * users get it: probes every 1 s, suspicion multiplier 4, Lifeguard, a
 * shared keyring):
 *
 * - **kills**: SIGKILL one member (each in turn), and time from the kill to
 *   the `swim: nK is dead` line of every other member (by that member's own
 *   log timestamp); the member restarts on the same address and rejoins
 *   before the next kill.
 * - **healthy run**: every member restarted with `--inject-udp-loss r`,
 *   dropping r of what it sends and r of what it receives, so that each
 *   datagram between two members is lost with `lossRate` (r = 1 − √(1 − lossRate));
 *   TCP (push-pull, fallback pings) is not touched. Nobody fails, so every
 *   `dead` verdict is a false positive and every `suspect` a false
 *   suspicion.
 */
export async function detectionProcessesSuite(options: DetectionProcessesOptions): Promise<BenchResult[]> {
  const log = options.log ?? (() => undefined);
  const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
  const config = swimConfig('lan');
  const boundMs = swimDetectionBoundMs(config, ids.length);
  const dir = mkdtempSync(join(tmpdir(), 'synod-bench-detection-'));
  const ports = await freePorts(2 * ids.length);
  const endpoint = (id: string): string => `127.0.0.1:${ports[ids.indexOf(id)]!}`;
  const swimAddress = (id: string): string => `127.0.0.1:${ports[ids.length + ids.indexOf(id)]!}`;
  const keyring = join(dir, 'swim.keys');
  writeFileSync(keyring, `${randomBytes(32).toString('base64')}\n`);
  const events: SwimEvent[] = [];
  const members = ids.map((id) => {
    const others = ids.filter((other) => other !== id);
    mkdirSync(join(dir, id), { recursive: true });
    return new ServeMember(
      id,
      [
        '--id', id, '--listen', endpoint(id), '--peers', others.map((o) => `${o}=${endpoint(o)}`).join(','), '--data', join(dir, id), '--insecure',
        '--swim', 'lan', '--swim-transport', 'udp', '--swim-listen', swimAddress(id), '--swim-seeds', others.map(swimAddress).join(','), '--swim-keyring', keyring,
      ],
      events,
    );
  });
  const member = (id: string): ServeMember => members[ids.indexOf(id)]!;
  const seenAliveEverywhere = (id: string, sinceMs: number): boolean =>
    ids.filter((o) => o !== id).every((o) => events.some((e) => e.observer === o && e.member === id && e.state === 'alive' && e.atMs >= sinceMs));
  const waitUntil = async (condition: () => boolean, timeoutMs: number, what: string): Promise<void> => {
    const limit = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > limit) throw new Error(`timed out waiting for ${what}`);
      await sleep(50);
    }
  };
  const fullView = (): boolean => ids.every((id) => seenAliveEverywhere(id, 0));

  const rows: BenchResult[] = [];
  try {
    await Promise.all(members.map((m) => m.start()));
    await waitUntil(fullView, 60_000, 'a full SWIM view');
    await sleep(3_000);

    const wanted = (name: string): boolean => options.scenarios === undefined || options.scenarios.includes(name);
    const system = 'synod serve ×5, SWIM over UDP';
    const profile = 'lan (probe 1000 ms, timeout 500 ms, suspicion mult 4, Lifeguard)';

    // Kills.
    if (wanted('kills')) {
      const perMember: number[] = [];
      const untilEverywhere: number[] = [];
      for (let k = 0; k < options.kills; k++) {
        const victim = ids[k % ids.length]!;
        const killedAt = await member(victim).kill('SIGKILL');
        const deadAt = new Map<string, number>();
        await waitUntil(
          () => {
            for (const e of events) if (e.member === victim && e.state === 'dead' && e.atMs >= killedAt && !deadAt.has(e.observer)) deadAt.set(e.observer, e.atMs - killedAt);
            return deadAt.size === ids.length - 1;
          },
          boundMs + 30_000,
          `${victim} dead everywhere`,
        );
        const times = [...deadAt.values()];
        perMember.push(...times);
        untilEverywhere.push(Math.max(...times));
        log(`  kill ${k + 1}/${options.kills}: ${victim} dead at ${[...deadAt].map(([o, ms]) => `${o} ${ms} ms`).join(', ')} (bound ${boundMs} ms)`);
        const restartAt = Date.now();
        await member(victim).start();
        await waitUntil(() => seenAliveEverywhere(victim, restartAt), 60_000, `${victim} alive again`);
        await sleep(3_000);
      }
      perMember.sort((a, b) => a - b);
      untilEverywhere.sort((a, b) => a - b);
      const killRow = (scenario: string, sample: readonly number[], extra: Record<string, unknown>): BenchResult => ({
        system,
        scenario,
        clients: 0,
        opsPerSec: 0,
        p50Ms: round(quantile(sample, 0.5)),
        p99Ms: round(quantile(sample, 0.99)),
        minMs: round(sample[0]!),
        maxMs: round(sample.at(-1)!),
        samples: sample.length,
        kills: options.kills,
        boundMs,
        withinBound: sample.every((ms) => ms <= boundMs),
        profile,
        ...extra,
      });
      rows.push(killRow('SIGKILL → dead, each observer', perMember, {}));
      rows.push(killRow('SIGKILL → dead at every member (slowest observer per kill)', untilEverywhere, {}));
    }

    /**
     * Restarts every member with `flagsOf(id)`, waits for a full view, and
     * watches for `minutes`: the SWIM lines of that time, and the members'
     * datagram-path counters at shutdown.
     */
    const watchedRun = async (label: string, minutes: number, flagsOf: (id: string) => string[]): Promise<{ during: SwimEvent[]; sum: (key: string) => number }> => {
      await Promise.all(members.map((m) => m.kill('SIGTERM')));
      const startAt = Date.now();
      await Promise.all(members.map((m) => m.start(flagsOf(m.id))));
      await waitUntil(() => ids.every((id) => seenAliveEverywhere(id, startAt)), 60_000, `a full SWIM view (${label})`);
      await sleep(3_000);
      const watchFrom = Date.now();
      const runMs = minutes * 60_000;
      log(`  ${label}: ${minutes} min…`);
      for (let elapsed = 0; elapsed < runMs; elapsed += 60_000) {
        await sleep(Math.min(60_000, runMs - elapsed));
        const sofar = events.filter((e) => e.atMs >= watchFrom);
        log(`    ${Number(((elapsed + Math.min(60_000, runMs - elapsed)) / 60_000).toFixed(1))} min: ${sofar.filter((e) => e.state === 'suspect').length} suspicions, ${sofar.filter((e) => e.state === 'dead').length} dead verdicts`);
      }
      const during = events.filter((e) => e.atMs >= watchFrom && e.atMs <= watchFrom + runMs);
      for (const m of members) if (!m.running) throw new Error(`${m.id} exited during ${label}:\n${m.output}`);
      await Promise.all(members.map((m) => m.kill('SIGTERM')));
      const stats = members.map((m) => m.lastStats ?? {});
      return { during, sum: (key) => stats.reduce((total, s) => total + (s[key] ?? 0), 0) };
    };

    // One member behind a lossy UDP path, with the TCP fallback ping and without it.
    if (wanted('lossy-member')) {
      const lossy = 'n5';
      for (const fallback of ['on', 'off'] as const) {
        const { during, sum } = await watchedRun(`${lossy} losing ${options.lossyMemberRate * 100} % each way, TCP fallback ${fallback}`, options.lossyMinutes, (id) => [
          '--swim-tcp-fallback', fallback,
          ...(id === lossy ? ['--inject-udp-loss', String(options.lossyMemberRate)] : []),
        ]);
        const about = (state: string): number => during.filter((e) => e.member === lossy && e.state === state).length;
        rows.push({
          system,
          scenario: `one member losing ${options.lossyMemberRate * 100} % of its datagrams each way, TCP fallback ${fallback}`,
          clients: 0,
          opsPerSec: 0,
          p50Ms: 0,
          p99Ms: 0,
          minutes: options.lossyMinutes,
          lossyMemberRate: options.lossyMemberRate,
          tcpFallback: fallback === 'on',
          falseDeadVerdicts: about('dead'),
          falseSuspicions: about('suspect'),
          otherFalseDeadVerdicts: during.filter((e) => e.member !== lossy && e.state === 'dead').length,
          otherFalseSuspicions: during.filter((e) => e.member !== lossy && e.state === 'suspect').length,
          udpDatagrams: sum('udpSent'),
          injectedDrops: sum('injectedDrops'),
          tcpFallbackPings: sum('tcpFallbacks'),
          profile,
        });
        log(`  fallback ${fallback}: ${about('dead')} dead verdicts and ${about('suspect')} suspicions about ${lossy}, ${sum('tcpFallbacks')} TCP fallback pings`);
      }
    }

    // Healthy run with UDP loss.
    if (wanted('healthy')) {
      const perMemberLoss = 1 - Math.sqrt(1 - options.lossRate);
      const label = `healthy run, ${(options.lossRate * 100).toFixed(1)} % loss per datagram (${(perMemberLoss * 100).toFixed(3)} % each way at every member)`;
      const { during, sum } = await watchedRun(label, options.healthyMinutes, () => ['--inject-udp-loss', perMemberLoss.toFixed(6)]);
      const runMs = options.healthyMinutes * 60_000;
      const falsePositives = during.filter((e) => e.state === 'dead').length;
      const suspicions = during.filter((e) => e.state === 'suspect').length;
      rows.push({
        system,
        scenario: `healthy run, ${(options.lossRate * 100).toFixed(0)} % UDP loss: false positives`,
        clients: 0,
        opsPerSec: 0,
        p50Ms: 0,
        p99Ms: 0,
        minutes: options.healthyMinutes,
        lossRate: options.lossRate,
        falsePositives,
        falseSuspicions: suspicions,
        falseSuspicionsPerMemberHour: Math.round((suspicions / ids.length / (runMs / 3_600_000)) * 100) / 100,
        // The datagram path's counters of each member's whole start-to-stop run (start-up included).
        udpDatagrams: sum('udpSent'),
        injectedDrops: sum('injectedDrops'),
        tcpFallbackPings: sum('tcpFallbacks'),
        tcpMessages: sum('tcpSent'),
        profile,
      });
      log(`  healthy run: ${falsePositives} false dead verdicts, ${suspicions} false suspicions, ${sum('tcpFallbacks')} TCP fallback pings, ${sum('injectedDrops')} datagrams dropped`);
    }
    return rows;
  } finally {
    await Promise.all(members.map((m) => m.kill('SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  }
}
