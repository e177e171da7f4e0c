/**
 * Child-process entry of the grpc-transport suite: one GrpcTransport per
 * process, driven by the parent over IPC (see {@link grpcTransportSuite}).
 * The receiver ("b") counts envelopes and echoes the ones marked for it;
 * the sender ("a", which dials b) runs one scenario and reports.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Envelope } from '@synod/core';
import { bytesPayloadCodec, GrpcTransport, type GrpcSecurity } from '@synod/transport-grpc';
import type { WorkerCommand, WorkerConfig, WorkerMessage } from './grpc-transport.js';

const ECHO = 1;
const config = JSON.parse(process.argv[2] ?? '') as WorkerConfig;
const send = (message: WorkerMessage): void => void process.send?.(message);

const security: GrpcSecurity = config.tls === undefined ? { insecure: true } : { tls: config.tls };
const transport = new GrpcTransport({
  localId: config.role === 'sender' ? 'a' : 'b',
  clusterId: 'bench',
  peers: {},
  listen: '127.0.0.1:0',
  security,
  payloadCodecs: { bench: bytesPayloadCodec },
});
const peer = config.role === 'sender' ? 'b' : 'a';
const envelope = (payload: Uint8Array): Envelope => ({ clusterId: 'bench', from: transport.localId, to: peer, protocol: 'bench', payload });

let received = 0;
let firstAt = 0;
const echoes: (() => void)[] = [];
transport.setHandler((e) => {
  const payload = e.payload as Uint8Array;
  if (config.role === 'receiver') {
    if (payload[0] === ECHO) {
      transport.send(peer, envelope(payload));
      return;
    }
    if (received === 0) firstAt = performance.now();
    received++;
    if (received === config.envelopes) send({ type: 'received', envelopes: received, seconds: (performance.now() - firstAt) / 1000 });
  } else {
    echoes.shift()?.();
  }
});

/** Keeps the link's queue fed without ever overflowing it, so nothing is dropped. */
async function blast(count: number, perTurn: number): Promise<void> {
  const payload = new Uint8Array(config.payloadBytes).fill(7);
  let sent = 0;
  while (sent < count) {
    const queued = transport.stats().peers.get(peer)?.queuedEnvelopes ?? 0;
    for (let i = 0; i < perTurn && queued + i < 512 && sent < count; i++, sent++) transport.send(peer, envelope(payload));
    await nextTurn();
  }
}

async function roundTrips(durationMs: number): Promise<number[]> {
  const payload = new Uint8Array(config.payloadBytes).fill(7);
  payload[0] = ECHO;
  const latencies: number[] = [];
  const endAt = performance.now() + durationMs;
  while (performance.now() < endAt) {
    const started = performance.now();
    await new Promise<void>((resolve) => {
      echoes.push(resolve);
      transport.send(peer, envelope(payload));
    });
    latencies.push(performance.now() - started);
  }
  return latencies;
}

async function runSender(): Promise<void> {
  while (transport.stats().peers.get(peer)?.state !== 'open') await new Promise((resolve) => setTimeout(resolve, 5));
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let latencies: number[] = [];
  if (config.scenario === 'rtt') latencies = await roundTrips(config.durationMs);
  else await blast(config.envelopes, config.scenario === 'batched' ? 512 : 1);
  const cpu = process.cpuUsage(cpuBefore);
  const stats = transport.stats();
  send({
    type: 'sent',
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    framesSent: stats.framesSent,
    envelopesSent: stats.envelopesSent,
    bytesSent: stats.bytesSent,
    dropped: stats.dropped,
    latencies,
  });
}

process.on('message', (command: WorkerCommand) => {
  if (command.type === 'peers') {
    transport.setPeers({ [peer]: command.address });
    if (config.role === 'sender') void runSender();
  } else {
    void transport.close().then(() => process.disconnect());
  }
});

await transport.start();
send({ type: 'ready', address: transport.boundAddress! });
