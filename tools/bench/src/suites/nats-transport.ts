import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NatsServer } from '@synod/transport-nats/nats-server';
import { quantile, type BenchResult } from '../results.js';

/** What the sender does: `batched` keeps up to 512 envelopes queued per turn; `unbatched` sends one per turn of the event loop (one NATS message each); `rtt` sends one and waits for its echo. */
export type NatsScenario = 'batched' | 'unbatched' | 'rtt';

export interface NatsWorkerConfig {
  readonly role: 'sender' | 'receiver';
  readonly scenario: NatsScenario;
  readonly envelopes: number;
  readonly durationMs: number;
  readonly payloadBytes: number;
  readonly url: string;
}

export type NatsWorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'received'; readonly envelopes: number; readonly seconds: number }
  | {
      readonly type: 'sent';
      readonly seconds: number;
      readonly cpuSeconds: number;
      readonly messagesSent: number;
      readonly envelopesSent: number;
      readonly bytesSent: number;
      readonly dropped: number;
      readonly latencies: number[];
    };

export type NatsWorkerCommand = { readonly type: 'go' } | { readonly type: 'stop' };

export interface NatsTransportBenchOptions {
  readonly runs: number;
  /** Envelopes per throughput run. */
  readonly envelopes: number;
  /** Length of an rtt run. */
  readonly rttDurationMs: number;
  readonly payloadBytes: number;
}

const WORKER = new URL('./nats-transport-worker.js', import.meta.url);

interface RunReport {
  readonly envelopesPerSec: number;
  readonly mbPerSec: number;
  readonly envelopesPerMessage: number;
  readonly senderCpuPerEnvelopeUs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly dropped: number;
}

function nextMessage<T extends NatsWorkerMessage['type']>(child: ChildProcess, type: T): Promise<Extract<NatsWorkerMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: NatsWorkerMessage): void => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      resolve(message as Extract<NatsWorkerMessage, { type: T }>);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`nats-transport worker exited with ${code} before '${type}'`)));
  });
}

/** One run: a receiver and a sender process, a fresh pair of transports, on the suite's nats-server. */
async function runOnce(scenario: NatsScenario, options: NatsTransportBenchOptions, url: string): Promise<RunReport> {
  const base = { scenario, envelopes: options.envelopes, durationMs: options.rttDurationMs, payloadBytes: options.payloadBytes, url };
  const start = (role: NatsWorkerConfig['role']): ChildProcess =>
    fork(fileURLToPath(WORKER), [JSON.stringify({ ...base, role } satisfies NatsWorkerConfig)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: (process.env['SYNOD_BENCH_CPU_PROF'] ?? '') === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${process.env['SYNOD_BENCH_CPU_PROF']}`],
    });
  const receiver = start('receiver');
  const sender = start('sender');
  try {
    await Promise.all([nextMessage(receiver, 'ready'), nextMessage(sender, 'ready')]);
    const gotAll = scenario === 'rtt' ? undefined : nextMessage(receiver, 'received');
    const sent = nextMessage(sender, 'sent');
    sender.send({ type: 'go' } satisfies NatsWorkerCommand);
    const report = await sent;
    const received = gotAll === undefined ? undefined : await gotAll;
    const latencies = Float64Array.from(report.latencies).sort();
    const envelopesPerSec = received === undefined ? latencies.length / report.seconds : received.envelopes / received.seconds;
    return {
      envelopesPerSec,
      mbPerSec: (envelopesPerSec * options.payloadBytes) / 1e6,
      envelopesPerMessage: report.envelopesSent / Math.max(1, report.messagesSent),
      senderCpuPerEnvelopeUs: (report.cpuSeconds * 1e6) / Math.max(1, report.envelopesSent),
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      dropped: report.dropped,
    };
  } finally {
    for (const child of [sender, receiver]) {
      if (child.connected) child.send({ type: 'stop' } satisfies NatsWorkerCommand);
    }
    await Promise.all([sender, receiver].map((child) => new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(undefined)))));
  }
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Raw envelopes between two NatsTransports through a nats-server on
 * loopback, each transport in a process of its own (the server is a third):
 * throughput with batching (`batched`) and without it (`unbatched`, one
 * envelope per NATS message) side by side, and the round trip of one
 * envelope (`rtt`). The same shape as the grpc-transport suite, so the rows
 * compare. Rows are medians over `runs` fresh process pairs, with the
 * spread (min–max) beside them.
 */
export async function natsTransportSuite(options: NatsTransportBenchOptions): Promise<BenchResult[]> {
  const server = await NatsServer.start();
  try {
    const results: BenchResult[] = [];
    for (const scenario of ['batched', 'unbatched', 'rtt'] as const) {
      const runs: RunReport[] = [];
      for (let run = 0; run < options.runs; run++) runs.push(await runOnce(scenario, options, server.url));
      const rates = runs.map((r) => r.envelopesPerSec);
      results.push({
        system: 'synod-nats-transport',
        scenario: `${scenario}-${options.payloadBytes}B-plaintext`,
        clients: 1,
        opsPerSec: median(rates),
        opsPerSecMin: Math.min(...rates),
        opsPerSecMax: Math.max(...rates),
        mbPerSec: median(runs.map((r) => r.mbPerSec)),
        envelopesPerMessage: median(runs.map((r) => r.envelopesPerMessage)),
        senderCpuPerEnvelopeUs: median(runs.map((r) => r.senderCpuPerEnvelopeUs)),
        p50Ms: median(runs.map((r) => r.p50Ms)),
        p99Ms: median(runs.map((r) => r.p99Ms)),
        dropped: runs.reduce((sum, r) => sum + r.dropped, 0),
        runs: options.runs,
      });
    }
    return results;
  } finally {
    await server.dispose();
  }
}
