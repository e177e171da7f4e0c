import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkLinearizability, HistoryRecorder, kvCodec, kvModel, renderHtmlReport, type KvInput, type KvOutput, type Verdict } from '@synod/testkit';
import { ChaosCluster } from './chaos-cluster.js';
import { compareStateHashes, findLostWrites, type LostWrite, type StateHashCheck } from './checks.js';
import { availableFaults, Nemesis, planSchedule, type FaultKind, type FaultRecord } from './nemesis.js';
import { ChaosWorkload, runOperation } from './workload.js';

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  /** How long faults are injected, in ms (the checks come after). */
  readonly durationMs: number;
  readonly seed: number;
  /** The command that runs `synod serve`, e.g. `[process.execPath, 'apps/demo/dist/bin.js', 'serve']`. */
  readonly serveCommand: readonly string[];
  /** Where the history, timeline, logs and report go (created). */
  readonly outDir: string;
  /** @default 3 */
  readonly nodes?: number;
  /**
   * `grpc`: nodes and clients talk directly; `nats`: through a `nats-server`
   * the run starts (in a namespace of its own when the nodes have theirs),
   * which the `broker-restart` fault kills and restarts. @default 'grpc'
   */
  readonly transport?: 'grpc' | 'nats';
  /** `auto`: namespaces when root and `ip netns` works, else loopback. @default 'auto' */
  readonly network?: 'auto' | 'namespaces' | 'loopback';
  /** Only these fault kinds. @default every kind the machine allows */
  readonly faults?: readonly FaultKind[];
  /** Concurrent clients. @default 4 */
  readonly clients?: number;
  /** Serve with `--lease-reads`, and make a third of the reads lease reads. @default false */
  readonly leaseReads?: boolean;
  /** The cluster must commit again within this long after the last heal, in ms. @default 30000 */
  readonly recoveryBoundMs?: number;
  /** Budget of the linearizability check, in ms. @default 120000 */
  readonly checkTimeoutMs?: number;
  /** Progress lines (faults as they happen, phases). */
  readonly log?: (line: string) => void;
}

/** What a chaos run found. */
export interface ChaosResult {
  readonly seed: number;
  readonly network: 'namespaces' | 'loopback';
  readonly transport: 'grpc' | 'nats';
  /** Why some fault kinds were not used on this machine. */
  readonly unavailable: ReadonlyMap<FaultKind, string>;
  readonly operations: number;
  readonly counts: { readonly ok: number; readonly fail: number; readonly info: number };
  readonly faults: readonly FaultRecord[];
  readonly verdict: Verdict;
  readonly lost: readonly LostWrite[];
  readonly stateHashes: StateHashCheck;
  /** How long after the last heal the first write committed, in ms; undefined when none did within the bound. */
  readonly recoveryMs: number | undefined;
  readonly recoveryBoundMs: number;
  /** Nodes that would not start again after the last heal. */
  readonly notRestarted: readonly { readonly id: string; readonly error: string }[];
  readonly passed: boolean;
  /** `chaos: N ops, K faults, linearizable, 0 lost` */
  readonly summary: string;
  readonly files: { readonly history: string; readonly timeline: string; readonly report: string | undefined; readonly logs: string };
}

/**
 * One chaos run: starts a cluster of `synod serve` processes (each in its own
 * network namespace when possible), runs the recorded workload while the
 * nemesis works through its seeded schedule, heals everything, and checks:
 *
 * 1. the cluster commits a write again within `recoveryBoundMs`;
 * 2. every key's final linearizable read (recorded too) loses no
 *    acknowledged write ({@link findLostWrites});
 * 3. every node's state hashes the same at the same applied index;
 * 4. the whole history is linearizable (the testkit checker, KV model).
 *
 * Writes `history.jsonl`, `timeline.txt`, node logs and, when a check
 * fails, `report.html` to `outDir`. The namespaces, mounts and processes are
 * removed on every way out.
 *
 * @example
 * ```ts
 * const result = await runChaos({ durationMs: 180_000, seed: 1, serveCommand: [process.execPath, bin, 'serve'], outDir: 'chaos-out' });
 * console.log(result.summary); // chaos: 5234 ops, 31 faults, linearizable, 0 lost
 * ```
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => undefined);
  const outDir = resolve(options.outDir);
  mkdirSync(outDir, { recursive: true });
  const founders = Array.from({ length: options.nodes ?? 3 }, (_, i) => `n${i + 1}`);
  const network = await chooseNetwork(options.network ?? 'auto', log);
  const cluster = await ChaosCluster.start({
    ids: founders,
    dir: outDir,
    serveCommand: options.serveCommand,
    network,
    transport: options.transport ?? 'grpc',
    // One node prepared but not started: the membership fault adds it and removes another.
    spares: 1,
    // Snapshots every 1000 entries: restarts and joins go through snapshots during a run too.
    snapshotEntries: 1_000,
    leaseReads: options.leaseReads === true,
    ...(network === 'namespaces' ? { tmpfsBytes: 64 * 1024 * 1024 } : {}),
  });
  const startedAt = performance.now();
  const clock = (): number => performance.now() - startedAt;
  const recorder = new HistoryRecorder<KvInput, KvOutput>({ clock });
  const workload = new ChaosWorkload({
    newClient: (clientOptions) => cluster.client(clientOptions),
    recorder,
    seed: options.seed,
    clients: options.clients ?? 4,
    leaseReadShare: options.leaseReads === true ? 1 / 3 : 0,
  });
  const nemesis = new Nemesis(cluster, clock);
  const records: FaultRecord[] = [];
  const recoveryBoundMs = options.recoveryBoundMs ?? 30_000;
  try {
    const { kinds, unavailable } = availableFaults(cluster);
    for (const [kind, why] of unavailable) log(`fault ${kind} unavailable: ${why}`);
    const chosen = options.faults === undefined ? kinds : kinds.filter((kind) => options.faults!.includes(kind));
    const schedule = planSchedule({ seed: options.seed, durationMs: options.durationMs, kinds: chosen });
    log(`cluster of ${founders.length} (spare ${cluster.spares.join(",")}) over ${cluster.transport === 'nats' ? `NATS (${cluster.brokerUrl})` : 'gRPC'} on ${network === 'namespaces' ? `network namespaces ${cluster.lab!.prefix}-*` : 'loopback'}; ${schedule.length} faults planned over ${Math.round(options.durationMs / 1000)} s (seed ${options.seed})`);
    await waitForLeader(cluster, 60_000);
    workload.start();
    for (const [i, fault] of schedule.entries()) {
      // On a loaded machine faults (restarts above all) take longer than
      // planned; the run stops injecting at its duration rather than run on.
      if (clock() >= options.durationMs) {
        log(`${schedule.length - i} planned faults left out: the run reached its ${Math.round(options.durationMs / 1000)} s`);
        break;
      }
      const wait = fault.atMs - clock();
      if (wait > 0) await sleep(wait);
      const record = await nemesis.runOrHeal(fault);
      records.push(record);
      log(timelineLine(record));
    }
    const healedAt = clock();
    const { restarted, failed: notRestarted } = await nemesis.healAll();
    if (restarted.length > 0) log(`restarted ${restarted.join(',')} after the last fault`);
    for (const failure of notRestarted) log(`NODE DOES NOT COME BACK: ${failure.error}`);
    const committed = await cluster.commitWithin(recoveryBoundMs);
    const recoveryMs = committed === undefined ? undefined : clock() - healedAt;
    log(recoveryMs === undefined ? `no write committed within ${recoveryBoundMs} ms of healing` : `a write committed ${Math.round(recoveryMs)} ms after healing`);
    // Some healthy time at the end, then every key read once more.
    await sleep(2_000);
    await workload.stop();
    const finalValues = await finalReads(cluster, recorder, workload.keys);
    const stateHashes = await compareStateHashes(cluster, 20_000);
    log(`state hashes ${stateHashes.agreed ? `agree at index ${stateHashes.index}` : 'DIFFER or never met at one index'}: ${[...stateHashes.byNode].map(([id, h]) => `${id}=${h}`).join(' ')}`);

    const history = recorder.history();
    const historyFile = join(outDir, 'history.jsonl');
    writeFileSync(historyFile, recorder.toJsonl(kvCodec, kvModel.name));
    const timelineFile = join(outDir, 'timeline.txt');
    writeFileSync(timelineFile, `${records.map(timelineLine).join('\n')}\n`);
    const lost = findLostWrites(history, finalValues);
    log(`checking ${history.length / 2 | 0} operations for linearizability`);
    const check = checkLinearizability(kvModel, history, { timeoutMs: options.checkTimeoutMs ?? 120_000 });
    const passed =
      check.verdict === 'linearizable' &&
      lost.length === 0 &&
      stateHashes.agreed &&
      recoveryMs !== undefined &&
      finalValues.size === workload.keys.length &&
      notRestarted.length === 0;
    let report: string | undefined;
    if (!passed) {
      report = join(outDir, 'report.html');
      writeFileSync(report, renderHtmlReport(kvModel, check, { title: `synod chaos, seed ${options.seed}` }));
    }
    const operations = workload.counts.ok + workload.counts.fail + workload.counts.info;
    const verdictText = check.verdict === 'linearizable' ? 'linearizable' : check.verdict === 'not-linearizable' ? 'not linearizable' : 'linearizability unknown';
    const summary = `chaos: ${operations} ops, ${records.length} faults, ${verdictText}, ${lost.length} lost`;
    writeFileSync(
      join(outDir, 'summary.txt'),
      [
        summary,
        `seed ${options.seed}, ${founders.length} nodes, ${cluster.transport}, ${network}, ${Math.round(options.durationMs / 1000)} s of faults${options.leaseReads === true ? ', lease reads' : ''}`,
        `operations: ${workload.counts.ok} ok, ${workload.counts.fail} failed, ${workload.counts.info} unknown`,
        `recovery: ${recoveryMs === undefined ? `none within ${recoveryBoundMs} ms` : `${Math.round(recoveryMs)} ms`}`,
        `state hashes: ${stateHashes.agreed ? `agree at index ${stateHashes.index}` : 'differ'} (${[...stateHashes.byNode].map(([id, h]) => `${id}=${h}`).join(' ')})`,
        ...notRestarted.map((f) => `node does not come back: ${f.error}`),
        ...lost.map((l) => `lost: ${l.write}: ${l.reason}`),
        '',
      ].join('\n'),
    );
    return {
      seed: options.seed,
      network,
      transport: cluster.transport,
      unavailable,
      operations,
      counts: { ...workload.counts },
      faults: records,
      verdict: check.verdict,
      lost,
      stateHashes,
      recoveryMs,
      recoveryBoundMs,
      notRestarted,
      passed,
      summary,
      files: { history: historyFile, timeline: timelineFile, report, logs: join(outDir, 'logs') },
    };
  } finally {
    await workload.stop().catch(() => undefined);
    await cluster.destroy();
  }
}

/** One line of the fault timeline. */
export function timelineLine(record: FaultRecord): string {
  const at = (ms: number): string => `${(ms / 1000).toFixed(1).padStart(6)}s`;
  return `${at(record.startMs)} -> ${at(record.healedMs)}  ${record.kind.padEnd(16)} ${record.detail}${record.outcome === '' ? '' : `  [${record.outcome}]`}`;
}

async function chooseNetwork(asked: 'auto' | 'namespaces' | 'loopback', log: (line: string) => void): Promise<'namespaces' | 'loopback'> {
  if (asked !== 'auto') return asked;
  if (process.getuid?.() !== 0) {
    log('not root: network namespaces are unavailable, so the nodes run on loopback with process and disk faults only');
    return 'loopback';
  }
  try {
    const { NetworkLab } = await import('./network-lab.js');
    const probe = await NetworkLab.create({ ids: ['probe'] });
    await probe.destroy();
    return 'namespaces';
  } catch (error) {
    log(`network namespaces are unavailable (${error instanceof Error ? error.message : String(error)}), so the nodes run on loopback with process and disk faults only`);
    return 'loopback';
  }
}

async function waitForLeader(cluster: ChaosCluster, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await cluster.leader()) === undefined) {
    if (Date.now() > deadline) throw new Error(`no leader within ${timeoutMs} ms of starting the cluster`);
    await sleep(100);
  }
}

/** Reads every key linearizably (recorded as client `final`), retrying until each read succeeds once. */
async function finalReads(cluster: ChaosCluster, recorder: HistoryRecorder<KvInput, KvOutput>, keys: readonly string[]): Promise<Map<string, string | null>> {
  const client = cluster.client({ attemptTimeoutMs: 1_000 });
  const values = new Map<string, string | null>();
  try {
    for (const key of keys) {
      for (let attempt = 0; attempt < 10 && !values.has(key); attempt++) {
        const outcome = await runOperation(recorder, 'final', { f: 'get', key }, client, { timeoutMs: 5_000 });
        if (outcome.type === 'ok' && outcome.output.f === 'get') values.set(key, outcome.output.value);
      }
    }
  } finally {
    await client.close();
  }
  return values;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
