import * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError, MessageTooLargeError, TransportClosedError, type Envelope } from '@synod/core';
import { describe, expect, it } from 'vitest';
import { GrpcTransport, createPeerServerOptions, createServerCredentials, type GrpcTransportOptions } from '../src/index.js';
import { BYTE_PROTOCOLS, capturingLogger, eventually, startTransport } from './helpers.js';

const base: GrpcTransportOptions = { localId: 'a', clusterId: 'c', peers: {}, listen: '127.0.0.1:0', security: { insecure: true } };

describe('GrpcTransport options', () => {
  it('requires an explicit security choice, and exactly one of server and listen', () => {
    expect(() => new GrpcTransport({ ...base, security: undefined as never })).toThrow(/security is required/);
    expect(() => new GrpcTransport({ ...base, security: { insecure: false } as never })).toThrow(InvalidArgumentError);
    expect(() => new GrpcTransport({ ...base, security: { tls: { cert: 'x', key: 'y' } } as never })).toThrow(/tls.ca/);
    expect(() => new GrpcTransport({ ...base, listen: undefined })).toThrow(/exactly one of server/);
    expect(() => new GrpcTransport({ ...base, server: new grpc.Server() })).toThrow(/exactly one of server/);
    expect(() => new GrpcTransport({ ...base, keepalive: { timeMs: 1_000 } })).toThrow(/at least 10000/);
    expect(() => new GrpcTransport({ ...base, sendQueueBytes: 10, maxMessageBytes: 100 })).toThrow(/at least maxMessageBytes/);
  });

  it('warns once, at construction, that plaintext is on; logs nothing with the default logger', async () => {
    const logger = capturingLogger();
    const transport = new GrpcTransport({ ...base, logger });
    expect(logger.lines.map((l) => `${l.level}: ${l.message}`)).toEqual([
      'warn: peer transport runs in plaintext (security: { insecure: true }): peers are not authenticated and traffic is not encrypted',
    ]);
    await transport.close();
  });

  it('refuses to send what it cannot carry, with typed errors', async () => {
    const transport = new GrpcTransport({ ...base, maxMessageBytes: 100, payloadCodecs: BYTE_PROTOCOLS, peers: { b: '127.0.0.1:1' } });
    const envelope = (over: Partial<Envelope>): Envelope => ({ clusterId: 'c', from: 'a', to: 'b', protocol: 'raft', payload: new Uint8Array(1), ...over });
    expect(() => transport.send('b', envelope({ protocol: 'unconfigured' }))).toThrow(/has no payload codec/);
    expect(() => transport.send('b', envelope({ protocol: '__proto__' }))).toThrow(InvalidArgumentError);
    expect(() => transport.send('b', envelope({ clusterId: 'other' }))).toThrow(InvalidArgumentError);
    expect(() => transport.send('b', envelope({ from: 'z' }))).toThrow(InvalidArgumentError);
    expect(() => transport.send('b', envelope({ payload: new Uint8Array(200) }))).toThrow(MessageTooLargeError);
    await transport.close();
    expect(() => transport.send('b', envelope({}))).toThrow(TransportClosedError);
    await expect(transport.start()).rejects.toThrow(TransportClosedError);
  });
});

describe('GrpcTransport on a shared server', () => {
  it('only registers the peer service; the caller binds and starts the server, and keeps it after close', async () => {
    const server = new grpc.Server(createPeerServerOptions());
    const shared = new GrpcTransport({ ...base, localId: 'b', listen: undefined, server, payloadCodecs: BYTE_PROTOCOLS, clusterId: 'test-cluster' });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', createServerCredentials({ insecure: true }), (err, bound) => (err === null ? resolve(bound) : reject(err))),
    );
    await shared.start();
    expect(shared.boundAddress).toBeUndefined();
    const a = await startTransport('a');
    a.setPeers({ b: `127.0.0.1:${port}` });
    shared.setPeers({ a: a.boundAddress! });
    const atShared: Envelope[] = [];
    shared.setHandler((e) => atShared.push(e));
    a.send('b', { clusterId: 'test-cluster', from: 'a', to: 'b', protocol: 'raft', payload: new Uint8Array([1]) });
    await eventually(() => atShared.length === 1, 5_000, 'delivery through the shared server');
    await shared.close();
    await a.close();
    // The service is gone, the server is not: a new transport can take its place.
    const again = new GrpcTransport({ ...base, localId: 'b', listen: undefined, server, clusterId: 'test-cluster' });
    await again.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });
});
