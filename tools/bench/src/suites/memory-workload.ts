import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeKvCommand, FileStorage, KvStateMachine, RaftNode, SeededRandom, systemClock } from '@synod/core';
import { MemoryNetwork } from '@synod/transport-memory';

/** What one memory run does. Everything here is plain data so it can cross to a child process. */
export interface MemoryWorkloadConfig {
  /** Voters, all in this process, each with its own FileStorage. */
  readonly nodes: number;
  /** Apply at least this many entries (the run ends at the first compaction on every node past it). */
  readonly entries: number;
  /** Size of each KV command; the Raft entry adds the proposal frame (about 20 bytes). */
  readonly commandBytes: number;
  /** Puts cycle over this many keys, so the state machine stays the same size. */
  readonly keys: number;
  /** Proposals kept outstanding on the leader (closed loop). */
  readonly inFlight: number;
  /** Take a sample at the first compaction (on every node) past each multiple of this. */
  readonly sampleEvery: number;
  /** RaftNode's snapshot policy `entries`. @default RaftNode's default (10,000) */
  readonly snapshotEntries?: number;
  /** @default 100 */
  readonly tickIntervalMs?: number;
  /** Parent of the temporary data directories. @default os.tmpdir() */
  readonly baseDir?: string;
}

/** Memory of the whole process at one moment. */
export interface MemorySample {
  /** The lowest snapshot index over the nodes: every node has compacted up to here. */
  readonly applied: number;
  readonly elapsedMs: number;
  readonly rssBytes: number;
  /** V8 heap in use as found, before the forced collection. */
  readonly heapUsedBytes: number;
  /** V8 heap in use after a full collection: live objects only (equals heapUsedBytes without --expose-gc). */
  readonly heapAfterGcBytes: number;
  /** V8 heap reserved from the system. */
  readonly heapTotalBytes: number;
  /** Memory of ArrayBuffers and other objects outside the V8 heap. */
  readonly externalBytes: number;
  /** Entries each node's storage still holds (lastIndex - firstIndex + 1). */
  readonly logEntries: readonly number[];
}

export interface MemoryWorkloadReport {
  readonly config: MemoryWorkloadConfig;
  /** Whether `gc()` was available (node --expose-gc); without it heapAfterGcBytes is not after a collection. */
  readonly forcedGc: boolean;
  /** Bytes of data in one Raft entry: the command plus its proposal frame. */
  readonly entryBytes: number;
  /** Entries applied on the leader by the end. */
  readonly applied: number;
  readonly elapsedMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Snapshots the leader took. */
  readonly snapshots: number;
  /** The process's peak resident set (the kernel's high-water mark), start-up included. */
  readonly peakRssBytes: number;
  /** After setup and a leader, before the first proposal. */
  readonly start: MemorySample;
  /** Taken right after compactions, so every node's log is at its shortest and samples compare like with like. */
  readonly samples: readonly MemorySample[];
  /** Once every proposal was answered. */
  readonly end: MemorySample;
  /** Linux only: resident memory that is anonymous (heap, malloc) and file-backed (the node binary and libraries). */
  readonly rssAnonBytes: number | undefined;
  readonly rssFileBytes: number | undefined;
  /** WAL segment files per node at the end. */
  readonly segments: readonly number[];
  /** The most entries any node's storage held, just before one of its compactions. */
  readonly peakLogEntries: number;
}

type Node = RaftNode<unknown, unknown, unknown>;

const HISTOGRAM_MIN_MS = 0.001;
const HISTOGRAM_RATIO = 1.02;

/**
 * Log-spaced buckets (2 % wide, 1 µs to minutes): latency quantiles of a
 * million proposals in fixed memory. An array of every latency would be
 * 8 MB of the very heap this workload measures.
 */
class LatencyHistogram {
  readonly #counts = new Float64Array(1200);
  #total = 0;

  record(ms: number): void {
    const bucket = ms <= HISTOGRAM_MIN_MS ? 0 : Math.floor(Math.log(ms / HISTOGRAM_MIN_MS) / Math.log(HISTOGRAM_RATIO));
    this.#counts[Math.min(this.#counts.length - 1, bucket)]!++;
    this.#total++;
  }

  /** The geometric middle of the bucket holding quantile q. */
  quantile(q: number): number {
    const rank = Math.max(1, Math.ceil(q * this.#total));
    let seen = 0;
    for (let bucket = 0; bucket < this.#counts.length; bucket++) {
      seen += this.#counts[bucket]!;
      if (seen >= rank) return HISTOGRAM_MIN_MS * HISTOGRAM_RATIO ** (bucket + 0.5);
    }
    return 0;
  }
}

/** `keys` distinct KV puts, each encoded to exactly `bytes` bytes. */
function commands(keys: number, bytes: number): Uint8Array[] {
  const width = String(keys - 1).length;
  return Array.from({ length: keys }, (_, i) => {
    const key = `key-${String(i).padStart(width, '0')}`;
    // The value's length prefix grows with the value, so settle its size by trying.
    let valueLength = Math.max(0, bytes - encodeKvCommand({ type: 'put', key, value: '' }).length);
    let command = encodeKvCommand({ type: 'put', key, value: 'v'.repeat(valueLength) });
    while (command.length > bytes && valueLength > 0) {
      valueLength--;
      command = encodeKvCommand({ type: 'put', key, value: 'v'.repeat(valueLength) });
    }
    if (command.length !== bytes) throw new Error(`cannot encode a ${bytes}-byte put for ${key}`);
    return command;
  });
}

/** Resident memory split by kind, from /proc (Linux); undefined elsewhere. */
function residentBreakdown(): { anon: number | undefined; file: number | undefined } {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kib = (field: string): number | undefined => {
      const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
      return match === null ? undefined : Number(match[1]) * 1024;
    };
    return { anon: kib('RssAnon'), file: kib('RssFile') };
  } catch {
    return { anon: undefined, file: undefined };
  }
}

async function waitForLeader(nodes: readonly Node[]): Promise<Node> {
  for (;;) {
    const leader = nodes.find((n) => n.status().role === 'leader');
    if (leader !== undefined) return leader;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Runs Raft voters on FileStorage (each in a fresh temporary directory)
 * over the memory transport, with the KV state machine over a fixed key
 * space and automatic snapshots on, proposes until every node has applied
 * and compacted past `entries`, and samples the memory of this process.
 *
 * Run it in a process of its own (see memory-worker.ts), started with
 * `--expose-gc`, so that the resident set is the nodes' alone and the heap
 * figures are live objects rather than garbage not yet collected.
 */
export async function runMemoryWorkload(config: MemoryWorkloadConfig): Promise<MemoryWorkloadReport> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const ids = Array.from({ length: config.nodes }, (_, i) => `n${i + 1}`);
  const dirs = ids.map(() => mkdtempSync(join(config.baseDir ?? tmpdir(), 'synod-bench-memory-')));
  const network = new MemoryNetwork({
    clock: systemClock,
    random: new SeededRandom(1),
    clusterId: 'bench',
    faults: { delay: { kind: 'fixed', ms: 0 } },
  });
  const storages: FileStorage[] = [];
  const nodes: Node[] = [];
  try {
    for (const dir of dirs) storages.push(await FileStorage.open(dir));
    for (const [i, id] of ids.entries()) {
      const node: Node = new RaftNode({
        raft: { id, voters: ids, electionTicks: 10, heartbeatTicks: 1 },
        clusterId: 'bench',
        transport: network.endpoint(id),
        storage: storages[i]!,
        stateMachine: new KvStateMachine(),
        random: new SeededRandom(i + 1),
        tickIntervalMs: config.tickIntervalMs ?? 100,
        defaultTimeoutMs: 60_000,
        ...(config.snapshotEntries !== undefined ? { snapshots: { entries: config.snapshotEntries } } : {}),
      });
      nodes.push(node);
      node.start();
    }
    const leader = await waitForLeader(nodes);
    const puts = commands(config.keys, config.commandBytes);

    let startedAt = performance.now();
    const sample = (applied: number): MemorySample => {
      const before = process.memoryUsage();
      gc?.();
      const after = gc === undefined ? before : process.memoryUsage();
      return {
        applied,
        elapsedMs: performance.now() - startedAt,
        rssBytes: before.rss,
        heapUsedBytes: before.heapUsed,
        heapAfterGcBytes: after.heapUsed,
        heapTotalBytes: after.heapTotal,
        externalBytes: after.external,
        logEntries: storages.map((s) => s.lastIndex() - s.firstIndex() + 1),
      };
    };

    // Sample when the last node compacts past the next multiple of
    // sampleEvery: then every log is at its shortest, so the series shows
    // what stays behind rather than where each log is in its
    // snapshot-to-snapshot sawtooth.
    const samples: MemorySample[] = [];
    const snapshotAt = ids.map(() => 0);
    const compactedTo = storages.map((s) => s.firstIndex() - 1);
    let peakLogEntries = 0;
    let snapshots = 0;
    let nextSample = config.sampleEvery;
    let finished = false;
    for (const [i, node] of nodes.entries()) {
      node.on('snapshot', (event) => {
        const { index } = event;
        peakLogEntries = Math.max(peakLogEntries, storages[i]!.lastIndex() - compactedTo[i]!);
        compactedTo[i] = event.compactedTo;
        snapshotAt[i] = index;
        if (node === leader) snapshots++;
        const everywhere = Math.min(...snapshotAt);
        if (everywhere < nextSample) return;
        samples.push(sample(everywhere));
        while (nextSample <= everywhere) nextSample += config.sampleEvery;
        if (everywhere >= config.entries) finished = true;
      });
    }

    const start = sample(leader.status().appliedIndex);
    const latencies = new LatencyHistogram();
    startedAt = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: config.inFlight }, async () => {
        while (!finished) {
          const command = puts[next++ % puts.length]!;
          const proposed = performance.now();
          await leader.propose(command);
          latencies.record(performance.now() - proposed);
        }
      }),
    );
    const elapsedMs = performance.now() - startedAt;
    const applied = leader.status().appliedIndex;
    const end = sample(applied);
    const resident = residentBreakdown();
    const lastIndex = storages[0]!.lastIndex();
    const entryBytes = storages[0]!.entries(lastIndex, lastIndex + 1)[0]?.data.byteLength ?? 0;
    return {
      config,
      forcedGc: gc !== undefined,
      entryBytes,
      applied,
      elapsedMs,
      p50Ms: latencies.quantile(0.5),
      p99Ms: latencies.quantile(0.99),
      snapshots,
      // maxRSS is in KiB on Linux and macOS.
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      start,
      samples,
      end,
      rssAnonBytes: resident.anon,
      rssFileBytes: resident.file,
      segments: storages.map((s) => s.stats().segments),
      peakLogEntries,
    };
  } finally {
    for (const node of nodes) await node.stop();
    for (const storage of storages) await storage.close();
    await network.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}
