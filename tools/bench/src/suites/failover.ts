import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Progress, stdoutLog } from '../progress.js';
import { quantile, type BenchResult } from '../results.js';
import { waitForLeader, type BenchCluster } from '../systems/cluster.js';
import { sleep } from '../systems/process.js';

/** One configuration the failover suite measures. */
export interface FailoverVariant {
  readonly system: string;
  readonly scenario: string;
  start(dir: string): Promise<BenchCluster>;
}

export interface RealFailoverOptions {
  /** Leader kills per variant. */
  readonly kills: number;
  /** Healthy time before each kill. */
  readonly steadyMs: number;
}

/** The client's pause between attempts. */
export const RETRY_BACKOFF_MS = 10;
/**
 * The deadline of one attempt. An attempt that went to a follower still
 * forwarding to the dead leader is given up on after this and retried;
 * the same for both systems.
 */
export const ATTEMPT_DEADLINE_MS = 250;
/** A failover longer than this counts as failed. */
const GIVE_UP_MS = 60_000;

const value = Buffer.alloc(256, 'f');

/**
 * Puts until one is acknowledged, rotating over `members` with
 * {@link RETRY_BACKOFF_MS} between attempts. Resolves with the time of the
 * acknowledgement.
 */
async function firstAcknowledgedPut(cluster: BenchCluster, members: readonly string[], key: string, startAt: number): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const id = members[attempt % members.length]!;
    try {
      await cluster.putOnce(id, key, value, Date.now() + ATTEMPT_DEADLINE_MS);
      return performance.now();
    } catch {
      if (performance.now() - startAt > GIVE_UP_MS) throw new Error(`${cluster.system}: no put acknowledged within ${GIVE_UP_MS} ms of the kill`);
      await sleep(RETRY_BACKOFF_MS);
    }
  }
}

/** Waits until member `id` takes writes (a put on it succeeds, so it follows a leader). */
async function rejoined(cluster: BenchCluster, id: string): Promise<void> {
  await firstAcknowledgedPut(cluster, [id], `rejoin/${id}`, performance.now());
}

/**
 * One variant: a fresh three-member cluster, then `kills` times: a healthy
 * pause (with a varying phase against the 100 ms heartbeat), SIGKILL of the
 * leader, and the time until a put is acknowledged, seen by a client that
 * retries on the two survivors every 10 ms; then the killed member is
 * started again on its data directory and must take a write before the
 * next kill, so every kill leaves two of three members.
 */
async function measureVariant(variant: FailoverVariant, options: RealFailoverOptions, progress: Progress): Promise<{ times: number[]; leaderChanges: number }> {
  const dir = mkdtempSync(join(tmpdir(), `synod-bench-failover-${variant.system}-`));
  const cluster = await variant.start(dir);
  const times: number[] = [];
  let leaderChanges = 0;
  try {
    await waitForLeader(cluster);
    await firstAcknowledgedPut(cluster, cluster.members.map((m) => m.id), 'warm', performance.now());
    for (let kill = 1; kill <= options.kills; kill++) {
      progress.step(`${variant.system} ${variant.scenario} kill ${kill}/${options.kills}`, options.steadyMs + 2_500);
      await sleep(options.steadyMs + ((kill * 37) % 100));
      const leaderId = await waitForLeader(cluster);
      const leader = cluster.members.find((m) => m.id === leaderId)!;
      const survivors = cluster.members.filter((m) => m.id !== leaderId).map((m) => m.id);
      const killedAt = performance.now();
      const exited = leader.kill('SIGKILL');
      const ackedAt = await firstAcknowledgedPut(cluster, survivors, `failover/${kill}`, killedAt);
      times.push(ackedAt - killedAt);
      leaderChanges++;
      await exited;
      await leader.start();
      await rejoined(cluster, leader.id);
    }
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { times, leaderChanges };
}

const round = (v: number): number => Math.round(v * 10) / 10;

/**
 * `pnpm bench failover`: leader failover on real processes. For each
 * variant (Synod with the election timeout alone, Synod with
 * detector-assisted elections, etcd with heartbeat 100 ms and election
 * timeout 1,000 ms), `kills` SIGKILLs of the leader, each timed from the
 * kill to the first put the cluster acknowledges. Rows give the median
 * (`p50Ms`), p99, min, max and mean, every sample (`samplesMs`), and for
 * each variant after the first, `medianRatio` to the first variant's median
 * (etcd comes first).
 */
export async function realFailoverSuite(variants: readonly FailoverVariant[], options: RealFailoverOptions, log: (line: string) => void = stdoutLog): Promise<BenchResult[]> {
  const progress = new Progress(variants.length * options.kills * (options.steadyMs + 2_500), log, log === stdoutLog ? { terminal: process.stdout } : {});
  const rows: BenchResult[] = [];
  for (const variant of variants) {
    const loadAtStart = loadavg()[0]!;
    const { times } = await measureVariant(variant, options, progress);
    const sorted = [...times].sort((a, b) => a - b);
    const row: BenchResult = {
      system: variant.system,
      scenario: variant.scenario,
      clients: 1,
      opsPerSec: 0,
      p50Ms: round(quantile(sorted, 0.5)),
      p99Ms: round(quantile(sorted, 0.99)),
      minMs: round(sorted[0] ?? 0),
      maxMs: round(sorted[sorted.length - 1] ?? 0),
      meanMs: round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)),
      kills: sorted.length,
      retryBackoffMs: RETRY_BACKOFF_MS,
      attemptDeadlineMs: ATTEMPT_DEADLINE_MS,
      loadAverage1m: round(loadAtStart),
      samplesMs: times.map(round),
    };
    const base = rows[0];
    rows.push(base === undefined || base.p50Ms === 0 ? row : { ...row, ratioTo: `${base.system} ${base.scenario}`, medianRatio: Math.round((row.p50Ms / base.p50Ms) * 100) / 100 });
    progress.note(`${variant.system} ${variant.scenario}: median ${row.p50Ms} ms, p99 ${row.p99Ms} ms over ${sorted.length} kills (load ${row.loadAverage1m})`);
  }
  progress.finish();
  return rows;
}

export interface LeaderPauseOptions {
  /** Length of the healthy run. */
  readonly runMs: number;
  /** Time between two pauses of the leader. */
  readonly everyMs: number;
  /** Length of each pause (SIGSTOP … SIGCONT). */
  readonly pauseMs: number;
}

/**
 * Spurious leader changes: a healthy cluster whose leader is paused
 * (SIGSTOP, then SIGCONT after `pauseMs`, as a long GC pause or a stalled
 * event loop would) every `everyMs` for `runMs`, with the leader polled
 * every 250 ms. A pause shorter than the tolerated pause must not cost the
 * leadership. Rows: `leaderChanges` (changes of the polled leader),
 * `pauses`, and `p50Ms`/`p99Ms` 0.
 */
export async function leaderPauseSuite(variants: readonly FailoverVariant[], options: LeaderPauseOptions, log: (line: string) => void = stdoutLog): Promise<BenchResult[]> {
  const progress = new Progress(variants.length * options.runMs, log, log === stdoutLog ? { terminal: process.stdout } : {});
  const rows: BenchResult[] = [];
  for (const variant of variants) {
    progress.step(`${variant.system} ${variant.scenario}: ${Math.round(options.runMs / 1000)} s with a ${options.pauseMs} ms leader pause every ${Math.round(options.everyMs / 1000)} s`, options.runMs);
    const dir = mkdtempSync(join(tmpdir(), `synod-bench-pauses-${variant.system}-`));
    const cluster = await variant.start(dir);
    const loadAtStart = loadavg()[0]!;
    let changes = 0;
    let pauses = 0;
    try {
      let leader = await waitForLeader(cluster);
      await firstAcknowledgedPut(cluster, cluster.members.map((m) => m.id), 'warm', performance.now());
      const endAt = performance.now() + options.runMs;
      let nextPause = performance.now() + options.everyMs;
      while (performance.now() < endAt) {
        if (performance.now() >= nextPause) {
          const member = cluster.members.find((m) => m.id === leader)!;
          member.signal('SIGSTOP');
          await sleep(options.pauseMs);
          member.signal('SIGCONT');
          pauses++;
          nextPause += options.everyMs;
        }
        await sleep(250);
        const now = await cluster.leader();
        if (now !== undefined && now !== leader) {
          changes++;
          leader = now;
        }
      }
    } finally {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    rows.push({
      system: variant.system,
      scenario: `${variant.scenario}, ${options.pauseMs} ms leader pause every ${Math.round(options.everyMs / 1000)} s`,
      clients: 0,
      opsPerSec: 0,
      p50Ms: 0,
      p99Ms: 0,
      leaderChanges: changes,
      pauses,
      runMs: options.runMs,
      loadAverage1m: round(loadAtStart),
    });
    progress.note(`${variant.system} ${variant.scenario}: ${changes} leader changes in ${pauses} pauses (load ${round(loadAtStart)})`);
  }
  progress.finish();
  return rows;
}
