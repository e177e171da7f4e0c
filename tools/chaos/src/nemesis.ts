import { SeededRandom } from '@synod/core';
import { BROKER_ID, type ChaosCluster } from './chaos-cluster.js';

/** The faults the nemesis knows. */
export const FAULT_KINDS = [
  'kill',
  'pause-short',
  'pause-long',
  'partition-half',
  'partition-leader',
  'partition-ring',
  'one-way',
  'loss',
  'delay',
  'disk-full',
  'disk-eio',
  'broker-restart',
  'membership',
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

/** One fault of a schedule: what, when, for how long, and the dice for its targets. */
export interface PlannedFault {
  /** Offset from the start of the run, in ms. */
  readonly atMs: number;
  readonly kind: FaultKind;
  readonly durationMs: number;
  /** Uniform numbers in [0, 1) that pick targets and strengths, so a seed fixes them. */
  readonly dice: readonly [number, number, number];
}

/** Options of {@link planSchedule}. */
export interface ScheduleOptions {
  readonly seed: number;
  /** Faults start within this many ms of the run's start. */
  readonly durationMs: number;
  /** The kinds to draw from. @default every kind */
  readonly kinds?: readonly FaultKind[];
  /** Quiet time between the end of one fault and the start of the next, in ms. @default [1500, 4000] */
  readonly quietMs?: readonly [number, number];
}

/**
 * How long each fault lasts, in ms. A short pause stays under the election
 * timeout (10 ticks of 100 ms), a long one goes well past it.
 */
const DURATIONS: Readonly<Record<FaultKind, readonly [number, number]>> = {
  kill: [500, 5_000],
  'pause-short': [200, 700],
  'pause-long': [2_000, 5_000],
  'partition-half': [3_000, 8_000],
  'partition-leader': [3_000, 8_000],
  'partition-ring': [3_000, 8_000],
  'one-way': [3_000, 8_000],
  loss: [3_000, 8_000],
  delay: [3_000, 8_000],
  'disk-full': [3_000, 8_000],
  'disk-eio': [3_000, 8_000],
  'broker-restart': [500, 5_000],
  membership: [3_000, 8_000],
};

/**
 * The fault schedule for a seed: faults one after another, each followed by
 * quiet time, until `durationMs`. The same seed and options always give the
 * same schedule; which node is the leader is the one thing decided when the
 * fault runs.
 *
 * @example
 * ```ts
 * const schedule = planSchedule({ seed: 7, durationMs: 180_000 });
 * // [{ atMs: 2113, kind: 'partition-leader', durationMs: 5120, dice: [...] }, …]
 * ```
 */
export function planSchedule(options: ScheduleOptions): PlannedFault[] {
  const kinds = options.kinds ?? FAULT_KINDS;
  if (kinds.length === 0) return [];
  const random = new SeededRandom(options.seed);
  const between = ([low, high]: readonly [number, number]): number => Math.round(low + random.next() * (high - low));
  const quiet = options.quietMs ?? [1_500, 4_000];
  const schedule: PlannedFault[] = [];
  for (let at = between(quiet); at < options.durationMs; ) {
    const kind = kinds[random.int(kinds.length)]!;
    const durationMs = between(DURATIONS[kind]);
    schedule.push({ atMs: at, kind, durationMs, dice: [random.next(), random.next(), random.next()] });
    at += durationMs + between(quiet);
  }
  return schedule;
}

/** Which fault kinds `cluster` can inject, and why the others cannot be. */
export function availableFaults(cluster: ChaosCluster): { readonly kinds: FaultKind[]; readonly unavailable: ReadonlyMap<FaultKind, string> } {
  const unavailable = new Map<FaultKind, string>();
  const network: FaultKind[] = ['partition-half', 'partition-leader', 'partition-ring', 'one-way', 'loss'];
  // Delay needs no namespaces: without tc netem it comes from the nodes' fault hooks.
  if (cluster.lab === undefined) {
    for (const kind of network) unavailable.set(kind, 'no network namespaces (not root, or loopback asked for)');
  } else if (!cluster.lab.capabilities.nftables) {
    for (const kind of network) unavailable.set(kind, "nft is missing (Debian package 'nftables')");
  }
  if (!cluster.hasSmallDisks) unavailable.set('disk-full', 'the data directories are not on small tmpfs disks (needs root)');
  if (cluster.spares.length === 0) unavailable.set('membership', 'no spare node to add (the cluster was started without spares)');
  if (cluster.transport !== 'nats') unavailable.set('broker-restart', 'no NATS server: the nodes talk over gRPC (--transport nats)');
  else if (cluster.lab !== undefined) {
    unavailable.set('partition-ring', 'over NATS every message passes the one broker, so no ring or bridge of nodes can be cut');
  }
  return { kinds: FAULT_KINDS.filter((kind) => !unavailable.has(kind)), unavailable };
}

/** One fault as it happened. */
export interface FaultRecord {
  readonly kind: FaultKind;
  /** When it started and was healed, in ms from the start of the run. */
  readonly startMs: number;
  readonly healedMs: number;
  /** Who and how, e.g. `n2 (leader) SIGKILL` or `{n1} | {n2,n3}`. */
  readonly detail: string;
  /** What was seen: `n2 fail-stopped (exit 74)`, `restarted n2`, …; empty when nothing notable. */
  readonly outcome: string;
  /** `broker-restart`: how long after the broker was back the first write committed, in ms (undefined: none within 30 s). */
  readonly recoveryMs?: number | undefined;
}

/**
 * Injects planned faults into a {@link ChaosCluster} and heals them.
 *
 * @example
 * ```ts
 * const nemesis = new Nemesis(cluster, () => performance.now() - startedAt);
 * const record = await nemesis.run(planSchedule({ seed: 1, durationMs: 60_000 })[0]!);
 * ```
 */
export class Nemesis {
  readonly #cluster: ChaosCluster;
  readonly #clock: () => number;

  constructor(cluster: ChaosCluster, clock: () => number) {
    this.#cluster = cluster;
    this.#clock = clock;
  }

  /** Injects `fault`, holds it for its duration, heals it and restarts any node that is down. */
  async run(fault: PlannedFault): Promise<FaultRecord> {
    const cluster = this.#cluster;
    const ids = cluster.ids;
    const [d0, d1, d2] = fault.dice;
    const pick = (dice: number, from: readonly string[] = ids): string => from[Math.floor(dice * from.length)]!;
    const leader = await cluster.leader();
    const leaderOr = (dice: number): string => (leader !== undefined && dice < 0.5 ? leader : pick(d1));
    const label = (id: string): string => (id === leader ? `${id} (leader)` : id);
    const startMs = this.#clock();
    let detail = '';
    const outcomes: string[] = [];
    let heal: () => Promise<void> | void = () => undefined;
    let recoveryMs: number | undefined;
    let holdMs = fault.durationMs;
    // Over NATS nodes hear each other only through the broker, which stays
    // with the majority: a node cut off from the others is cut off from it.
    const nats = cluster.transport === 'nats';
    const cut = (minority: readonly string[], majority: readonly string[]): Promise<void> =>
      cluster.lab!.partition([minority, nats ? [...majority, BROKER_ID] : majority]);

    switch (fault.kind) {
      case 'kill': {
        const target = leaderOr(d0);
        detail = `${label(target)} SIGKILL, restarted after ${fault.durationMs} ms`;
        await cluster.nodes.get(target)!.kill();
        break;
      }
      case 'pause-short':
      case 'pause-long': {
        const target = leaderOr(d0);
        detail = `${label(target)} SIGSTOP for ${fault.durationMs} ms`;
        const node = cluster.nodes.get(target)!;
        node.pause();
        heal = () => node.resume();
        break;
      }
      case 'partition-half': {
        const shuffled = shuffle(ids, [d0, d1, d2]);
        const minority = shuffled.slice(0, Math.floor((ids.length - 1) / 2));
        const majority = shuffled.slice(minority.length);
        detail = `${group(minority, leader)} | ${group(nats ? [...majority, BROKER_ID] : majority, leader)}`;
        await cut(minority, majority);
        break;
      }
      case 'partition-leader': {
        const target = leader ?? pick(d0);
        const others = ids.filter((id) => id !== target);
        detail = `${label(target)} isolated from ${(nats ? [...others, BROKER_ID] : others).join(',')}`;
        await cut([target], others);
        break;
      }
      case 'partition-ring': {
        const ring = shuffle(ids, [d0, d1, d2]);
        if (ring.length >= 5) {
          // Each node hears its two ring neighbours: a majority of five with
          // itself, but no two nodes see the same majority.
          for (const [i, id] of ring.entries()) {
            await cluster.lab!.connectOnly(id, [ring[(i + 1) % ring.length]!, ring[(i + ring.length - 1) % ring.length]!]);
          }
          detail = `ring ${ring.map((id) => label(id)).join(' - ')} (each hears only its neighbours)`;
        } else {
          // With three nodes the ring degenerates into a bridge: the middle
          // node hears both ends, which do not hear each other.
          const [end1, middle, end2] = ring as [string, string, string];
          await cluster.lab!.partition([[end1], [end2]]);
          detail = `bridge ${label(end1)} - ${label(middle)} - ${label(end2)} (the ends do not hear each other)`;
        }
        break;
      }
      case 'one-way': {
        const from = leaderOr(d0);
        // Over NATS the only link a node has is to the broker.
        const to = nats ? BROKER_ID : pick(d1, ids.filter((id) => id !== from));
        detail = `${label(from)} -> ${label(to)} dropped (${label(to)} -> ${label(from)} still flows)`;
        await cluster.lab!.block(from, to);
        break;
      }
      case 'loss': {
        const lossPercent = 10 + Math.round(d1 * 30);
        const targets = d0 < 0.5 ? ids : [pick(d2)];
        for (const id of targets) await cluster.lab!.impair(id, { lossPercent });
        detail = `${lossPercent}% of packets sent by ${targets.map(label).join(',')} dropped`;
        break;
      }
      case 'delay': {
        const delayMs = 20 + Math.round(d1 * 130);
        const jitterMs = Math.round(d2 * delayMs * 0.5);
        const targets = d0 < 0.5 ? ids : [pick(d2)];
        if (cluster.hasTransportDelays) {
          // The hooks are set through each node's API: a node that does not
          // answer in time (just resumed from a pause and catching up on a
          // loaded machine, or restarting) goes without the delay, and the
          // timeline says so, rather than the run dying on the timeout.
          for (const id of targets) {
            try {
              await cluster.delayLinks(id, delayMs);
            } catch (error) {
              outcomes.push(`delay not applied on ${id}: ${error instanceof Error ? error.message : String(error)}`);
            }
          }
          detail = `${delayMs} ms on every message to and from ${targets.map(label).join(',')} (fault hooks: no tc netem here, so no jitter)`;
          heal = () => cluster.healLinkDelays();
        } else {
          for (const id of targets) await cluster.lab!.impair(id, { delayMs, jitterMs });
          detail = `${delayMs} ms ± ${jitterMs} ms on packets sent by ${targets.map(label).join(',')}`;
        }
        break;
      }
      case 'disk-full':
      case 'disk-eio': {
        const target = leaderOr(d0);
        if (fault.kind === 'disk-full') {
          const bytes = cluster.fillDisk(target);
          detail = `${label(target)} data disk filled (${Math.round(bytes / 1024)} KiB of filler)`;
        } else {
          cluster.failDisk(target);
          detail = `${label(target)} disk answers EIO`;
        }
        heal = async () => {
          const node = cluster.nodes.get(target)!;
          // A node that just hit the fault needs a moment to stop its server and exit.
          if (node.running) await Promise.race([node.exited(), sleep(3_000)]);
          const exit = node.running ? undefined : node.lastExit;
          if (exit !== undefined) outcomes.push(`${target} fail-stopped (exit ${exit.code ?? exit.signal})`);
          else outcomes.push(`${target} kept running (what it wrote still fit in blocks it had, or it ignored the failure; the checks judge)`);
          cluster.healDisk(target);
        };
        break;
      }
      case 'membership': {
        // Add a spare (fresh data, `--join`: it catches up from a snapshot),
        // give it the fault's time, then remove a member (the leader half the
        // time), which becomes the next spare.
        const spare = pick(d2, cluster.spares);
        const joined = await cluster.addMember(spare);
        outcomes.push(joined.added ? `${spare} added` : `ADD OF ${spare} FAILED: ${joined.error ?? 'not in the configuration'}`);
        await sleep(fault.durationMs);
        let removedDetail = 'nobody removed';
        if (joined.added) {
          const now = await cluster.leader();
          const candidates = cluster.ids.filter((id) => id !== spare);
          const target = now !== undefined && d0 < 0.5 && candidates.includes(now) ? now : pick(d1, candidates);
          const left = await cluster.removeMember(target);
          removedDetail = `${target === now ? `${target} (leader)` : target} removed`;
          outcomes.push(left.removed ? `${target} removed and stopped` : `REMOVAL OF ${target} FAILED: ${left.error ?? 'still in the configuration'}`);
        }
        detail = `${spare} joined (serve --join, AddMember), ${removedDetail}; members now ${cluster.ids.join(',')}`;
        holdMs = 0; // held above, between the add and the removal
        break;
      }
      case 'broker-restart': {
        const broker = cluster.broker!;
        detail = `nats-server SIGKILL, restarted after ${fault.durationMs} ms`;
        await broker.kill();
        heal = async () => {
          await broker.start();
          // The nodes reconnect by themselves; the time to the first commit is the figure that matters.
          recoveryMs = await cluster.commitWithin(30_000);
          outcomes.push(recoveryMs === undefined ? 'NO COMMIT within 30 s of the broker\'s return' : `a write committed ${Math.round(recoveryMs)} ms after the broker's return`);
        };
        break;
      }
    }

    await sleep(holdMs);
    await heal();
    await cluster.lab?.heal();
    outcomes.push(...restartOutcomes(await cluster.restartStopped()));
    return { kind: fault.kind, startMs, healedMs: this.#clock(), detail, outcome: outcomes.join('; '), ...(fault.kind === 'broker-restart' ? { recoveryMs } : {}) };
  }

  /**
   * {@link Nemesis.run}, except that a fault the harness fails to inject or
   * heal (a node's API timing out, a `tc` command failing) is healed with
   * everything else and recorded in its timeline line, instead of ending the
   * run: the checks at the end judge the cluster, and one harness hiccup
   * should not throw away a long run.
   */
  async runOrHeal(fault: PlannedFault): Promise<FaultRecord> {
    const startMs = this.#clock();
    try {
      return await this.run(fault);
    } catch (error) {
      const healed = await this.healAll().catch((healError: unknown) => ({ restarted: [], failed: [{ id: '?', error: String(healError) }] }));
      const outcome = [`INJECTION FAILED: ${error instanceof Error ? error.message : String(error)}; healed everything`, ...restartOutcomes(healed)];
      return { kind: fault.kind, startMs, healedMs: this.#clock(), detail: 'not injected', outcome: outcome.join('; ') };
    }
  }

  /**
   * Heals everything the nemesis may have left: partitions, loss, delay,
   * disks, pauses, stopped nodes (a node that failed to start is given one
   * more try).
   */
  async healAll(): Promise<{ readonly restarted: string[]; readonly failed: { readonly id: string; readonly error: string }[] }> {
    await this.#cluster.lab?.heal();
    if (this.#cluster.hasTransportDelays) await this.#cluster.healLinkDelays();
    for (const id of this.#cluster.ids) {
      this.#cluster.healDisk(id);
      this.#cluster.nodes.get(id)!.resume();
    }
    const first = await this.#cluster.restartStopped();
    if (first.failed.length === 0) return first;
    const second = await this.#cluster.restartStopped();
    return { restarted: [...first.restarted, ...second.restarted], failed: second.failed };
  }
}

/** The timeline's words for what a restart pass did. */
function restartOutcomes({ restarted, failed }: { readonly restarted: readonly string[]; readonly failed: readonly { readonly error: string }[] }): string[] {
  return [...(restarted.length > 0 ? [`restarted ${restarted.join(',')}`] : []), ...failed.map((failure) => `RESTART FAILED: ${failure.error}`)];
}

function group(ids: readonly string[], leader: string | undefined): string {
  return `{${ids.map((id) => (id === leader ? `${id}*` : id)).join(',')}}`;
}

/** A deterministic shuffle driven by the fault's dice. */
function shuffle(ids: readonly string[], dice: readonly number[]): string[] {
  const out = [...ids];
  for (let i = out.length - 1; i > 0; i--) {
    const roll = dice[i % dice.length]! * (i + 1) * 7.919;
    const j = Math.floor(roll) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
