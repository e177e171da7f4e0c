import { createConnection, createServer, type Server, type Socket } from 'node:net';
import {
  InvalidArgumentError,
  MessageTooLargeError,
  silentLogger,
  systemClock,
  TransportClosedError,
  type Clock,
  type Envelope,
  type EnvelopeHandler,
  type Logger,
  type NodeId,
  type TimerHandle,
  type Transport,
  type UnreachableListener,
} from '@synod/core';
import { createEnvelopeCodec, swimPayloadCodec, type EnvelopeCodec } from '@synod/protocol';
import { bindUdpSocket, type DatagramSocket } from './datagram-socket.js';
import type { Keyring } from './keyring.js';

/** Format byte of a frame sent without a keyring. Sealed frames start with the keyring's own format byte. */
const PLAIN_V1 = 0;
/** A TCP frame is a 4-byte big-endian length, then the frame. */
const LENGTH_BYTES = 4;

/** Options of {@link UdpSwimTransport.start}. */
export interface UdpSwimTransportOptions {
  /** `host:port` to bind, UDP and TCP alike; port 0 picks a free one. The bound address is the node's id. */
  readonly listen: string;
  /** Every message carries it (inside the encryption); messages of other clusters are dropped. */
  readonly clusterId: string;
  /**
   * Shared keys: messages are sealed with AES-256-GCM and messages that no
   * key opens are dropped (and logged once per sender). Without a keyring,
   * messages travel in the clear and sealed ones are dropped.
   */
  readonly keyring?: Keyring;
  /**
   * How long after a direct ping went out by UDP without an ack the same
   * ping is also sent over TCP (memberlist's fallback ping), so that a lossy
   * UDP path alone does not get a member suspected. Keep it below the SWIM
   * probe timeout. `false` turns the fallback off.
   * @default 100
   */
  readonly tcpFallbackAfterMs?: number | false;
  /** Larger messages (and every push-pull) go over TCP. @default 1400 */
  readonly maxDatagramBytes?: number;
  /** Largest message over TCP. @default 4194304 */
  readonly maxMessageBytes?: number;
  /** Replace the UDP socket, e.g. with a {@link lossySocket} wrapper; it must be bound to `listen`'s host. */
  readonly socket?: DatagramSocket;
  /** For the fallback timers. @default systemClock */
  readonly clock?: Clock;
  /**
   * Rejected messages are logged at warn, once per sender and reason (the
   * sender is `host:port` for UDP, `tcp:host` for TCP). @default silentLogger
   */
  readonly logger?: Logger;
}

/** Counters for diagnostics and tests. */
export interface UdpSwimTransportStats {
  readonly udpSent: number;
  readonly udpReceived: number;
  readonly tcpSent: number;
  readonly tcpReceived: number;
  /** Pings also sent over TCP because no ack came by UDP in time. */
  readonly tcpFallbacks: number;
  /** Messages dropped because no key opened them, they were of another cluster, or malformed. */
  readonly rejected: number;
}

function splitHostPort(value: string, what: string): { host: string; port: number } {
  const match = /^\[?([^\]]+)\]?:(\d+)$/.exec(value);
  if (match === null || Number(match[2]) > 65535) throw new InvalidArgumentError(`${what} must be host:port, got '${value}'`);
  return { host: match[1]!, port: Number(match[2]) };
}

function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * SWIM's datagram path, as in memberlist: a {@link Transport} whose node ids
 * are `host:port` addresses, so members join through address seeds
 * (`swim.join(['10.0.0.7:7946'])`) and every id a gossip message names can be
 * reached without a directory. Probes, acks, nacks and gossip travel as UDP
 * datagrams; push-pull state exchanges and anything larger than a datagram
 * travel over TCP on the same port number. When a direct ping gets no ack by
 * UDP within `tcpFallbackAfterMs`, the same ping also goes over TCP and the
 * target answers over TCP, so a member behind a lossy UDP path is not
 * suspected while TCP still reaches it.
 *
 * Only the `swim` protocol (with `swimPayloadCodec`) and raw `Uint8Array`
 * payloads are carried.
 *
 * @example
 * ```ts
 * const keyring = new Keyring([key]);
 * const transport = await UdpSwimTransport.start({ listen: '10.0.0.5:7946', clusterId: 'prod', keyring });
 * const swim = new SwimNode({ transport, clock: systemClock, random: systemRandom, clusterId: 'prod', attachHandler: true });
 * swim.start();
 * await swim.join(['10.0.0.7:7946']);
 * ```
 */
export class UdpSwimTransport implements Transport {
  readonly localId: NodeId;
  readonly maxMessageBytes: number;
  readonly clusterId: string;
  readonly #socket: DatagramSocket;
  readonly #server: Server;
  readonly #codec: EnvelopeCodec;
  readonly #keyring: Keyring | undefined;
  readonly #fallbackAfterMs: number | false;
  readonly #maxDatagramBytes: number;
  readonly #clock: Clock;
  readonly #logger: Logger;
  #handler: EnvelopeHandler = () => undefined;
  readonly #unreachable = new Set<UnreachableListener>();
  /** Pings sent by UDP and not yet acked: `to#seq` → fallback timer. */
  readonly #pendingPings = new Map<string, TimerHandle>();
  /** Pings received over TCP: their acks go back over TCP too. */
  readonly #tcpAskers = new Map<string, TimerHandle>();
  readonly #loggedRejections = new Set<string>();
  readonly #connections = new Set<Socket>();
  #closed = false;
  #stats = { udpSent: 0, udpReceived: 0, tcpSent: 0, tcpReceived: 0, tcpFallbacks: 0, rejected: 0 };

  private constructor(options: UdpSwimTransportOptions, socket: DatagramSocket, server: Server, host: string) {
    this.#socket = socket;
    this.#server = server;
    this.localId = formatHostPort(host, socket.address().port);
    this.clusterId = options.clusterId;
    this.maxMessageBytes = options.maxMessageBytes ?? 4 * 1024 * 1024;
    this.#codec = createEnvelopeCodec({ payloadCodecs: { swim: swimPayloadCodec } });
    this.#keyring = options.keyring;
    this.#fallbackAfterMs = options.tcpFallbackAfterMs ?? 100;
    this.#maxDatagramBytes = options.maxDatagramBytes ?? 1400;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
    socket.onMessage((datagram, from) => {
      this.#stats.udpReceived++;
      this.#receive(datagram, formatHostPort(from.address, from.port), false);
    });
    server.on('connection', (connection) => this.#accept(connection));
  }

  /**
   * Binds UDP and TCP on `options.listen` and returns the running transport.
   * @throws InvalidArgumentError for a bad address; the bind error when the port is taken.
   */
  static async start(options: UdpSwimTransportOptions): Promise<UdpSwimTransport> {
    const { host, port } = splitHostPort(options.listen, 'listen');
    if (options.tcpFallbackAfterMs !== undefined && options.tcpFallbackAfterMs !== false && !(options.tcpFallbackAfterMs >= 0)) {
      throw new InvalidArgumentError('tcpFallbackAfterMs must be >= 0 or false');
    }
    // With port 0, UDP picks the port and TCP must get the same one; another
    // process may hold it for TCP, so try a few.
    for (let attempt = 0; ; attempt++) {
      const socket = options.socket ?? (await bindUdpSocket(host, port));
      const server = createServer();
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(socket.address().port, host, () => {
            server.off('error', reject);
            resolve();
          });
        });
        return new UdpSwimTransport(options, socket, server, host);
      } catch (error) {
        if (options.socket === undefined) await socket.close();
        if (port !== 0 || options.socket !== undefined || attempt >= 4) throw error;
      }
    }
  }

  get stats(): UdpSwimTransportStats {
    return { ...this.#stats };
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(to: NodeId, envelope: Envelope): void {
    if (this.#closed) throw new TransportClosedError();
    const { host, port } = splitHostPort(to, 'a node id of the datagram path');
    const frame = this.#frame(this.#codec.encode(envelope));
    if (frame.length > this.maxMessageBytes) throw new MessageTooLargeError(frame.length, this.maxMessageBytes);
    const message = envelope.protocol === 'swim' ? (envelope.payload as { type?: string; seq?: number }) : undefined;
    const key = `${to}#${String(message?.seq)}`;
    if (message?.type === 'ack' && this.#tcpAskers.has(key)) {
      this.#clock.clearTimeout(this.#tcpAskers.get(key)!);
      this.#tcpAskers.delete(key);
      this.#sendTcp(to, host, port, frame);
      return;
    }
    if (message?.type === 'push-pull' || frame.length > this.#maxDatagramBytes) {
      this.#sendTcp(to, host, port, frame);
      return;
    }
    this.#socket.send(frame, port, host);
    this.#stats.udpSent++;
    if (message?.type === 'ping' && this.#fallbackAfterMs !== false) {
      const previous = this.#pendingPings.get(key);
      if (previous !== undefined) this.#clock.clearTimeout(previous);
      this.#pendingPings.set(
        key,
        this.#clock.setTimeout(() => {
          this.#pendingPings.delete(key);
          if (this.#closed) return;
          this.#stats.tcpFallbacks++;
          this.#sendTcp(to, host, port, frame);
        }, this.#fallbackAfterMs),
      );
    }
  }

  setHandler(handler: EnvelopeHandler): void {
    this.#handler = handler;
  }

  onUnreachable(listener: UnreachableListener): () => void {
    this.#unreachable.add(listener);
    return () => this.#unreachable.delete(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#pendingPings.values()) this.#clock.clearTimeout(timer);
    for (const timer of this.#tcpAskers.values()) this.#clock.clearTimeout(timer);
    this.#pendingPings.clear();
    this.#tcpAskers.clear();
    for (const connection of this.#connections) connection.destroy();
    await Promise.all([this.#socket.close(), new Promise<void>((resolve) => this.#server.close(() => resolve()))]);
  }

  #frame(bytes: Uint8Array): Buffer {
    if (this.#keyring !== undefined) return this.#keyring.seal(bytes, this.clusterId);
    return Buffer.concat([Buffer.of(PLAIN_V1), bytes]);
  }

  #unframe(frame: Buffer, sender: string): Uint8Array | undefined {
    if (this.#keyring === undefined) {
      if (frame[0] === PLAIN_V1) return frame.subarray(1);
      this.#reject(sender, 'an encrypted message, and this node has no keyring');
      return undefined;
    }
    if (frame[0] === PLAIN_V1) {
      this.#reject(sender, 'an unencrypted message, and this node requires the keyring');
      return undefined;
    }
    const plain = this.#keyring.open(frame, this.clusterId);
    if (plain === undefined) this.#reject(sender, 'a message no installed key opens (a wrong key, or another cluster)');
    return plain;
  }

  #receive(frame: Buffer, sender: string, viaTcp: boolean): void {
    if (this.#closed || frame.length === 0) return;
    const bytes = this.#unframe(frame, sender);
    if (bytes === undefined) return;
    let envelope: Envelope;
    try {
      envelope = this.#codec.decode(bytes);
    } catch (error) {
      this.#reject(sender, `an undecodable message (${error instanceof Error ? error.message : String(error)})`);
      return;
    }
    if (envelope.clusterId !== this.clusterId || envelope.to !== this.localId) {
      this.#reject(sender, `a message for cluster '${envelope.clusterId}' and node '${envelope.to}'`);
      return;
    }
    if (envelope.protocol === 'swim') {
      const message = envelope.payload as { type: string; seq?: number };
      const key = `${envelope.from}#${String(message.seq)}`;
      if (message.type === 'ack') {
        const timer = this.#pendingPings.get(key);
        if (timer !== undefined) {
          this.#clock.clearTimeout(timer);
          this.#pendingPings.delete(key);
        }
      } else if (message.type === 'ping' && viaTcp) {
        // UDP from the asker is evidently unreliable: answer over TCP.
        this.#tcpAskers.set(
          key,
          this.#clock.setTimeout(() => this.#tcpAskers.delete(key), 10_000),
        );
      }
    }
    this.#handler(envelope);
  }

  /** Logs a rejected message once per sender and reason: a misconfigured member retries forever. */
  #reject(sender: string, what: string): void {
    this.#stats.rejected++;
    const key = `${sender} ${what}`;
    if (this.#loggedRejections.has(key)) return;
    this.#loggedRejections.add(key);
    this.#logger.warn({ sender, local: this.localId }, `swim-udp: dropped ${what} from ${sender} (logged once per sender)`);
  }

  #sendTcp(to: NodeId, host: string, port: number, frame: Buffer): void {
    const header = Buffer.alloc(LENGTH_BYTES);
    header.writeUInt32BE(frame.length);
    const connection = createConnection({ host, port });
    this.#connections.add(connection);
    connection.setTimeout(5_000, () => connection.destroy(new Error('TCP send timed out')));
    connection.on('error', (error) => {
      for (const listener of this.#unreachable) listener(to, error);
    });
    connection.on('close', () => this.#connections.delete(connection));
    connection.end(Buffer.concat([header, frame]));
    this.#stats.tcpSent++;
  }

  #accept(connection: Socket): void {
    this.#connections.add(connection);
    // TCP source ports are ephemeral, so rejections over TCP are logged once per host.
    const sender = `tcp:${connection.remoteAddress ?? '?'}`;
    let buffered = Buffer.alloc(0);
    connection.setTimeout(5_000, () => connection.destroy());
    connection.on('error', () => undefined);
    connection.on('close', () => this.#connections.delete(connection));
    connection.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= LENGTH_BYTES) {
        const length = buffered.readUInt32BE(0);
        if (length > this.maxMessageBytes) {
          this.#reject(sender, `a ${length}-byte TCP frame, over the ${this.maxMessageBytes}-byte limit`);
          connection.destroy();
          return;
        }
        if (buffered.length < LENGTH_BYTES + length) break;
        const frame = buffered.subarray(LENGTH_BYTES, LENGTH_BYTES + length);
        buffered = buffered.subarray(LENGTH_BYTES + length);
        this.#stats.tcpReceived++;
        this.#receive(frame, sender, true);
      }
    });
  }
}
