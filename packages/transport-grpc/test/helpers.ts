import type { Logger, NodeId } from '@synod/core';
import { bytesPayloadCodec, GrpcTransport, type GrpcTransportOptions } from '../src/index.js';

/** Every protocol the compliance suite and these tests send, each carried as bytes. */
export const BYTE_PROTOCOLS = Object.fromEntries(['raft', 'paxos', 'swim', 'probe', 'x-compliance'].map((name) => [name, bytesPayloadCodec]));

export type Overrides = Partial<Omit<GrpcTransportOptions, 'localId' | 'peers'>>;

/** Starts a transport of its own on a free loopback port, with no peers yet. */
export async function startTransport(localId: NodeId, overrides: Overrides = {}): Promise<GrpcTransport> {
  const transport = new GrpcTransport({
    localId,
    clusterId: 'test-cluster',
    peers: {},
    listen: '127.0.0.1:0',
    security: { insecure: true },
    payloadCodecs: BYTE_PROTOCOLS,
    backoff: { initialMs: 20, maxMs: 200 },
    connectTimeoutMs: 2_000,
    closeTimeoutMs: 500,
    ...overrides,
  });
  await transport.start();
  return transport;
}

/** Tells every transport where all the others are. */
export function introduce(transports: readonly GrpcTransport[], extra: Readonly<Record<NodeId, string>> = {}): void {
  const peers = { ...extra, ...Object.fromEntries(transports.map((t) => [t.localId, t.boundAddress!])) };
  for (const transport of transports) transport.setPeers(peers);
}

/** Starts `ids.length` transports that know each other. */
export async function startCluster(ids: readonly NodeId[], overrides: (id: NodeId) => Overrides = () => ({})): Promise<GrpcTransport[]> {
  const transports = await Promise.all(ids.map((id) => startTransport(id, overrides(id))));
  introduce(transports);
  return transports;
}

/** Resolves once `condition` holds, polling; rejects after `timeoutMs`. */
export async function eventually(condition: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Every link between two open transports is open. */
export function allLinksOpen(transports: readonly GrpcTransport[]): boolean {
  const open = transports.filter((t) => !t.closed);
  return open.every((t) => open.every((other) => other === t || t.stats().peers.get(other.localId)?.state === 'open'));
}

/**
 * Waits until the links between open transports are open and every envelope
 * one of them sent to another has been received there (or `timeoutMs`
 * passes: a message to a closed peer never arrives).
 */
export async function settle(transports: readonly GrpcTransport[], timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const balanced = (): boolean => {
    const open = transports.filter((t) => !t.closed);
    return open.every((sender) =>
      open.every((receiver) => {
        if (sender === receiver) return true;
        const out = sender.stats().peers.get(receiver.localId);
        const back = receiver.stats().peers.get(sender.localId);
        return out?.state === 'open' && out.queuedEnvelopes === 0 && out.envelopesSent === back?.envelopesReceived;
      }),
    );
  };
  do {
    // Unreachable reports go out on the next turn of the event loop.
    await new Promise((resolve) => setTimeout(resolve, 10));
  } while (!balanced() && Date.now() < deadline);
}

export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly fields: Readonly<Record<string, unknown>>;
  readonly message: string;
}

/** A Logger that keeps every line, for asserting what was logged. */
export function capturingLogger(): Logger & { readonly lines: LogLine[]; warnings(message: string): LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (fields: Readonly<Record<string, unknown>>, message: string) => void lines.push({ level, fields, message });
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    warnings: (message) => lines.filter((line) => line.level === 'warn' && line.message === message),
  };
}

export async function closeAll(transports: readonly GrpcTransport[]): Promise<void> {
  await Promise.all(transports.map((t) => t.close()));
}
