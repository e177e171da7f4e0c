import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { kvV1 } from '@synod/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { SynodClient } from '../src/index.js';

/** A gRPC message on the wire: uncompressed flag, big-endian length, bytes. */
function grpcMessage(bytes: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + bytes.byteLength);
  out.writeUInt32BE(bytes.byteLength, 1);
  out.set(bytes, 5);
  return out;
}

/**
 * A hand-made HTTP/2 server standing in for a Synod node: Cluster/Status
 * fails (so the client skips discovery), and KV/Put answers with its
 * response message but holds the trailers (the OK status) until released.
 */
async function serverHoldingTrailers(): Promise<{ endpoint: string; release(): void; close(): Promise<void> }> {
  const held: http2.ServerHttp2Stream[] = [];
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    stream.resume();
    if (headers[':path'] !== kvV1.KVService.put.path) {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc+proto', 'grpc-status': '12', 'grpc-message': 'not here' }, { endStream: true });
      return;
    }
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc+proto' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'OK' }));
      const response = kvV1.PutResponse.encode({ header: { memberId: 'n1', revision: 7n, raftTerm: 2n, leaderHint: 'n1' }, prevKv: undefined }).finish();
      stream.write(grpcMessage(response));
      held.push(stream);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `127.0.0.1:${port}`,
    release: () => {
      for (const stream of held.splice(0)) if (!stream.destroyed) stream.end();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const stream of held.splice(0)) stream.destroy();
      }),
  };
}

describe('SynodClient unary calls', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('settles on the response message without waiting for the status that follows it', async () => {
    const server = await serverHoldingTrailers();
    cleanups.push(() => server.close());
    // Deadlines far beyond the test's timeout: without settling on the
    // message, the put would wait for trailers that never come.
    const client = new SynodClient({ endpoints: [server.endpoint], security: { insecure: true }, timeoutMs: 60_000, attemptTimeoutMs: 60_000 });
    cleanups.push(() => client.close());
    const result = await client.put('k', 'v');
    expect(result.revision).toBe(7);
    server.release();
  }, 10_000);
});
