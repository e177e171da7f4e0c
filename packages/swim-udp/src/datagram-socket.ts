import { createSocket, type Socket } from 'node:dgram';
import type { Random } from '@synod/core';

/** Where a datagram came from. */
export interface DatagramSender {
  readonly address: string;
  readonly port: number;
}

/**
 * The part of a UDP socket the datagram path uses. Tests wrap it to drop,
 * delay or inspect datagrams ({@link lossySocket}).
 */
export interface DatagramSocket {
  /** Sends one datagram; errors (no route, too large) are ignored: SWIM copes with loss. */
  send(datagram: Uint8Array, port: number, host: string): void;
  /** Sets the single receiver of incoming datagrams. */
  onMessage(listener: (datagram: Buffer, from: DatagramSender) => void): void;
  /** The bound address. */
  address(): DatagramSender;
  close(): Promise<void>;
}

/** Binds a `node:dgram` socket (udp4, or udp6 for an IPv6 host) on `host:port`; port 0 picks one. */
export async function bindUdpSocket(host: string, port: number): Promise<DatagramSocket> {
  const socket: Socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  // An ICMP error on a previous send surfaces here; it is loss, not a failure.
  socket.on('error', () => undefined);
  return {
    send: (datagram, toPort, toHost) => socket.send(datagram, toPort, toHost, () => undefined),
    onMessage: (listener) => {
      socket.removeAllListeners('message');
      socket.on('message', (msg, rinfo) => listener(msg, { address: rinfo.address, port: rinfo.port }));
    },
    address: () => {
      const bound = socket.address();
      return { address: bound.address, port: bound.port };
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** Counters of a {@link lossySocket}. */
export interface LossStats {
  sent: number;
  dropped: number;
  received: number;
  droppedOnReceive: number;
}

/**
 * Wraps a socket so that a seeded fraction of the datagrams it sends and
 * receives is lost, for testing the datagram path's behaviour under loss.
 * `dropRate` may be changed while it runs.
 *
 * @example
 * ```ts
 * const lossy = lossySocket(await bindUdpSocket('127.0.0.1', 0), { dropRate: 0.3, random: new SeededRandom(1) });
 * const transport = await UdpSwimTransport.start({ ..., socket: lossy });
 * ```
 */
export function lossySocket(inner: DatagramSocket, options: { dropRate: number; random: Random }): DatagramSocket & { dropRate: number; readonly stats: LossStats } {
  const stats: LossStats = { sent: 0, dropped: 0, received: 0, droppedOnReceive: 0 };
  const wrapper = {
    dropRate: options.dropRate,
    stats,
    send(datagram: Uint8Array, port: number, host: string): void {
      if (options.random.next() < wrapper.dropRate) {
        stats.dropped++;
        return;
      }
      stats.sent++;
      inner.send(datagram, port, host);
    },
    onMessage(listener: (datagram: Buffer, from: DatagramSender) => void): void {
      inner.onMessage((datagram, from) => {
        if (options.random.next() < wrapper.dropRate) {
          stats.droppedOnReceive++;
          return;
        }
        stats.received++;
        listener(datagram, from);
      });
    },
    address: () => inner.address(),
    close: () => inner.close(),
  };
  return wrapper;
}
