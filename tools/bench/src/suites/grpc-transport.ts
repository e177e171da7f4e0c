import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createCertificateAuthority, createNodeCertificate } from '@synod/transport-grpc/certificates';
import { quantile, type BenchResult } from '../results.js';

/** What the sender does: `batched` keeps up to 512 envelopes queued; `unbatched` sends one per turn of the event loop (one frame each); `rtt` sends one and waits for its echo. */
export type GrpcScenario = 'batched' | 'unbatched' | 'rtt';

export interface WorkerConfig {
  readonly role: 'sender' | 'receiver';
  readonly scenario: GrpcScenario;
  readonly envelopes: number;
  readonly durationMs: number;
  readonly payloadBytes: number;
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string };
}

export type WorkerMessage =
  | { readonly type: 'ready'; readonly address: string }
  | { readonly type: 'received'; readonly envelopes: number; readonly seconds: number }
  | {
      readonly type: 'sent';
      readonly seconds: number;
      readonly cpuSeconds: number;
      readonly framesSent: number;
      readonly envelopesSent: number;
      readonly bytesSent: number;
      readonly dropped: number;
      readonly latencies: number[];
    };

export type WorkerCommand = { readonly type: 'peers'; readonly address: string } | { readonly type: 'stop' };

export interface GrpcTransportBenchOptions {
  readonly runs: number;
  /** Envelopes per throughput run. */
  readonly envelopes: number;
  /** Length of an rtt run. */
  readonly rttDurationMs: number;
  readonly payloadBytes: number;
}

const WORKER = new URL('./grpc-transport-worker.js', import.meta.url);

interface RunReport {
  readonly envelopesPerSec: number;
  readonly mbPerSec: number;
  readonly envelopesPerFrame: number;
  readonly senderCpuPerEnvelopeUs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly dropped: number;
}

function nextMessage<T extends WorkerMessage['type']>(child: ChildProcess, type: T): Promise<Extract<WorkerMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: WorkerMessage): void => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      resolve(message as Extract<WorkerMessage, { type: T }>);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`grpc-transport worker exited with ${code} before '${type}'`)));
  });
}

/** One run: a receiver and a sender process, a fresh pair of transports. */
async function runOnce(scenario: GrpcScenario, options: GrpcTransportBenchOptions, tls: boolean): Promise<RunReport> {
  let certs: { sender: WorkerConfig['tls']; receiver: WorkerConfig['tls'] } = { sender: undefined, receiver: undefined };
  if (tls) {
    const ca = await createCertificateAuthority();
    const [a, b] = await Promise.all(['a', 'b'].map((nodeId) => createNodeCertificate(ca, { clusterId: 'bench', nodeId })));
    certs = { sender: { cert: a!.certPem, key: a!.keyPem, ca: ca.certPem }, receiver: { cert: b!.certPem, key: b!.keyPem, ca: ca.certPem } };
  }
  const base = { scenario, envelopes: options.envelopes, durationMs: options.rttDurationMs, payloadBytes: options.payloadBytes };
  const start = (role: WorkerConfig['role']): ChildProcess =>
    fork(fileURLToPath(WORKER), [JSON.stringify({ ...base, role, tls: certs[role] } satisfies WorkerConfig)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: (process.env['SYNOD_BENCH_CPU_PROF'] ?? '') === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${process.env['SYNOD_BENCH_CPU_PROF']}`],
    });
  const receiver = start('receiver');
  const sender = start('sender');
  try {
    const [rReady, sReady] = await Promise.all([nextMessage(receiver, 'ready'), nextMessage(sender, 'ready')]);
    const gotAll = scenario === 'rtt' ? undefined : nextMessage(receiver, 'received');
    const sent = nextMessage(sender, 'sent');
    receiver.send({ type: 'peers', address: sReady.address } satisfies WorkerCommand);
    sender.send({ type: 'peers', address: rReady.address } satisfies WorkerCommand);
    const report = await sent;
    const received = gotAll === undefined ? undefined : await gotAll;
    const latencies = Float64Array.from(report.latencies).sort();
    const envelopesPerSec = received === undefined ? latencies.length / report.seconds : received.envelopes / received.seconds;
    return {
      envelopesPerSec,
      mbPerSec: (envelopesPerSec * options.payloadBytes) / 1e6,
      envelopesPerFrame: report.envelopesSent / Math.max(1, report.framesSent),
      senderCpuPerEnvelopeUs: (report.cpuSeconds * 1e6) / Math.max(1, report.envelopesSent),
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      dropped: report.dropped,
    };
  } finally {
    for (const child of [sender, receiver]) {
      if (child.connected) child.send({ type: 'stop' } satisfies WorkerCommand);
    }
    await Promise.all([sender, receiver].map((child) => new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(undefined)))));
  }
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Raw envelopes between two GrpcTransports on loopback, each in a process
 * of its own: throughput with batching (`batched`) and without it
 * (`unbatched`, one envelope per frame) side by side, and the round trip of
 * one envelope (`rtt`), each in plaintext and over mutual TLS. Rows are
 * medians over `runs` fresh process pairs, with the spread (min–max) beside
 * them.
 */
export async function grpcTransportSuite(options: GrpcTransportBenchOptions): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const tls of [false, true]) {
    for (const scenario of ['batched', 'unbatched', 'rtt'] as const) {
      const runs: RunReport[] = [];
      for (let run = 0; run < options.runs; run++) runs.push(await runOnce(scenario, options, tls));
      const rates = runs.map((r) => r.envelopesPerSec);
      results.push({
        system: 'synod-grpc-transport',
        scenario: `${scenario}-${options.payloadBytes}B-${tls ? 'mtls' : 'plaintext'}`,
        clients: 1,
        opsPerSec: median(rates),
        opsPerSecMin: Math.min(...rates),
        opsPerSecMax: Math.max(...rates),
        mbPerSec: median(runs.map((r) => r.mbPerSec)),
        envelopesPerFrame: median(runs.map((r) => r.envelopesPerFrame)),
        senderCpuPerEnvelopeUs: median(runs.map((r) => r.senderCpuPerEnvelopeUs)),
        p50Ms: median(runs.map((r) => r.p50Ms)),
        p99Ms: median(runs.map((r) => r.p99Ms)),
        dropped: runs.reduce((sum, r) => sum + r.dropped, 0),
        runs: options.runs,
      });
    }
  }
  return results;
}
