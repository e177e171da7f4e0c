/**
 * Child-process entry of the nats-transport suite: one NatsTransport per
 * process, driven by the parent over IPC (see {@link natsTransportSuite}).
 * The receiver ("b") counts envelopes and echoes the ones marked for it;
 * the sender ("a") runs one scenario and reports.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Envelope } from '@synod/core';
import { bytesPayloadCodec, NatsTransport } from '@synod/transport-nats';
import type { NatsWorkerCommand, NatsWorkerConfig, NatsWorkerMessage } from './nats-transport.js';

const ECHO = 1;
const config = JSON.parse(process.argv[2] ?? '') as NatsWorkerConfig;
const send = (message: NatsWorkerMessage): void => void process.send?.(message);

const localId = config.role === 'sender' ? 'a' : 'b';
const peer = config.role === 'sender' ? 'b' : 'a';
const transport = new NatsTransport({ localId, clusterId: 'bench', peers: [peer], servers: config.url, payloadCodecs: { bench: bytesPayloadCodec } });
const envelope = (payload: Uint8Array): Envelope => ({ clusterId: 'bench', from: localId, to: peer, protocol: 'bench', payload });

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

/** Sends `perTurn` envelopes per turn of the event loop; the transport publishes what one turn queued as one batch. */
async function blast(count: number, perTurn: number): Promise<void> {
  const payload = new Uint8Array(config.payloadBytes).fill(7);
  let sent = 0;
  while (sent < count) {
    const queued = transport.stats().peers.get(peer)?.queuedEnvelopes ?? 0;
    for (let i = 0; i < perTurn && queued + i < 512 && sent < count; i++, sent++) transport.send(peer, envelope(payload));
    await nextTurn();
    // NATS core has no flow control: pace by the server's answers, so the receiver is never cut off as a slow consumer.
    if (sent % 8192 < perTurn) await transport.connection?.flush();
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
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let latencies: number[] = [];
  if (config.scenario === 'rtt') latencies = await roundTrips(config.durationMs);
  else await blast(config.envelopes, config.scenario === 'batched' ? 512 : 1);
  await transport.connection?.flush();
  const cpu = process.cpuUsage(cpuBefore);
  const stats = transport.stats();
  send({
    type: 'sent',
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    messagesSent: stats.messagesSent,
    envelopesSent: stats.envelopesSent,
    bytesSent: stats.bytesSent,
    dropped: stats.dropped,
    latencies,
  });
}

process.on('message', (command: NatsWorkerCommand) => {
  if (command.type === 'go') {
    void runSender();
  } else {
    void transport.close().then(() => process.disconnect());
  }
});

await transport.start();
send({ type: 'ready' });
