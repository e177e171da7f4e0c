/**
 * `@synod/swim-udp`: SWIM's datagram path. UDP probes and gossip, TCP
 * push-pull and fallback pings on the same port, `host:port` node ids, and an
 * AES-256-GCM keyring with rotation.
 *
 * @example
 * ```ts
 * import { Keyring, UdpSwimTransport } from '@synod/swim-udp';
 * const transport = await UdpSwimTransport.start({ listen: '127.0.0.1:7946', clusterId: 'c1', keyring: new Keyring([key]) });
 * ```
 *
 * @packageDocumentation
 */
export * from './keyring.js';
export * from './datagram-socket.js';
export * from './udp-swim-transport.js';
