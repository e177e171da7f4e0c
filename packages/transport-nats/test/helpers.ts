import type { Logger, NodeId } from '@synod/core';
import { bytesPayloadCodec, NatsTransport, type NatsTransportOptions } from '../src/index.js';

/** Every protocol the compliance suite and these tests send, each carried as bytes. */
export const BYTE_PROTOCOLS = Object.fromEntries(['raft', 'paxos', 'swim', 'probe', 'x-compliance'].map((name) => [name, bytesPayloadCodec]));

export type Overrides = Partial<Omit<NatsTransportOptions, 'localId'>>;

/** A transport on `url`, started, knowing `peers`. */
export async function startTransport(url: string, localId: NodeId, peers: readonly NodeId[], overrides: Overrides = {}): Promise<NatsTransport> {
  const transport = new NatsTransport({
    localId,
    clusterId: 'test-cluster',
    peers,
    servers: url,
    payloadCodecs: BYTE_PROTOCOLS,
    ackTimeoutMs: 1_000,
    closeTimeoutMs: 500,
    reconnect: { timeWaitMs: 100, jitterMs: 100 },
    ...overrides,
  } as NatsTransportOptions);
  await transport.start();
  return transport;
}

/** Starts one transport per id on `url`, each knowing all the others. */
export async function startCluster(url: string, ids: readonly NodeId[], overrides: (id: NodeId) => Overrides = () => ({})): Promise<NatsTransport[]> {
  return Promise.all(ids.map((id) => startTransport(url, id, ids, overrides(id))));
}

/** Resolves once `condition` holds, polling; rejects after `timeoutMs`. */
export async function eventually(condition: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Waits until every envelope one open transport sent to another has been
 * received there, and the probes in flight are answered (or `timeoutMs`
 * passes: a message to a closed peer never arrives).
 */
export async function settle(transports: readonly NatsTransport[], timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const open = transports.filter((t) => !t.closed);
  await Promise.all(open.map((t) => t.connection?.flush().catch(() => undefined)));
  const balanced = (): boolean =>
    open.every((sender) =>
      open.every((receiver) => {
        if (sender === receiver) return true;
        const out = sender.stats().peers.get(receiver.localId);
        const back = receiver.stats().peers.get(sender.localId);
        return out === undefined || (out.queuedEnvelopes === 0 && out.envelopesSent === back?.envelopesReceived);
      }),
    );
  do {
    // Unreachable reports (a 503 from the server) go out on a later turn of the event loop.
    await new Promise((resolve) => setTimeout(resolve, 20));
  } while (!balanced() && Date.now() < deadline);
}

export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly fields: Readonly<Record<string, unknown>>;
  readonly message: string;
}

/** A Logger that keeps every line, for asserting what was logged. */
export function capturingLogger(): Logger & { readonly lines: LogLine[]; at(level: LogLine['level'], message: string): LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (fields: Readonly<Record<string, unknown>>, message: string) => void lines.push({ level, fields, message });
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    at: (level, message) => lines.filter((line) => line.level === level && line.message.includes(message)),
  };
}

export async function closeAll(transports: readonly NatsTransport[]): Promise<void> {
  await Promise.all(transports.map((t) => t.close()));
}
