import * as grpc from '@grpc/grpc-js';
import { BusyError, MemoryStorage, NotLeaderError, StoppedError, TimeoutError, WatchCompactedError } from '@synod/core';
import { kvV1 } from '@synod/protocol';
import { describe, expect, it } from 'vitest';
import { createSynodServer, decodeRpcStatus, encodeRpcStatus, SessionExpiredError } from '../../src/index.js';
import { toServiceError } from '../../src/server/errors.js';

const leader = { leaderId: 'n2', leaderEndpoint: '127.0.0.1:7002' };

describe('typed error → gRPC status', () => {
  it.each([
    [new NotLeaderError('n2'), grpc.status.UNAVAILABLE, 'NOT_LEADER'],
    [new TimeoutError(), grpc.status.UNAVAILABLE, 'TIMEOUT'],
    [new StoppedError(), grpc.status.UNAVAILABLE, 'STOPPED'],
    [new BusyError(), grpc.status.RESOURCE_EXHAUSTED, 'BUSY'],
    [new WatchCompactedError(3, 10), grpc.status.OUT_OF_RANGE, 'WATCH_COMPACTED'],
    [new SessionExpiredError('c', 4), grpc.status.FAILED_PRECONDITION, 'SESSION_EXPIRED'],
    [new Error('secret detail'), grpc.status.INTERNAL, 'INTERNAL'],
  ])('%s', (error, code, reason) => {
    const mapped = toServiceError(error, leader);
    expect(mapped.code).toBe(code);
    expect(mapped.metadata.get('synod-error')).toEqual([reason]);
    if (reason === 'INTERNAL') expect(mapped.details).not.toMatch(/secret/);
    const detail = decodeRpcStatus(mapped.metadata.get('grpc-status-details-bin')[0] as Buffer);
    expect(detail).toMatchObject({ code, errorInfo: [{ reason, domain: 'synod.dev' }] });
    if (code === grpc.status.UNAVAILABLE) {
      expect(mapped.metadata.get('synod-leader-endpoint')).toEqual(['127.0.0.1:7002']);
      expect(detail?.errorInfo[0]?.metadata).toEqual({ leader_id: 'n2', leader_endpoint: '127.0.0.1:7002' });
    }
  });

  it('google.rpc.Status round-trips, and garbage decodes to undefined', () => {
    const bytes = encodeRpcStatus({ code: 14, message: 'x', errorInfo: [{ reason: 'R', domain: 'd', metadata: { a: 'b' } }] });
    expect(decodeRpcStatus(bytes)).toEqual({ code: 14, message: 'x', errorInfo: [{ reason: 'R', domain: 'd', metadata: { a: 'b' } }] });
    expect(decodeRpcStatus(Uint8Array.of(0x0a, 0x05, 0x01))).toBeUndefined();
  });
});

describe('a node without a leader', () => {
  it('answers UNAVAILABLE with reason NOT_LEADER, and keeps serving', async () => {
    const server = createSynodServer({
      nodeId: 'n1',
      clusterId: 'c',
      listen: '127.0.0.1:0',
      peers: { n2: '127.0.0.1:9', n3: '127.0.0.1:9' },
      security: { insecure: true },
      storage: new MemoryStorage(),
      tickIntervalMs: 20,
    });
    await server.start();
    const kv = new kvV1.KVClient(server.boundAddress!, grpc.credentials.createInsecure());
    try {
      for (let i = 0; i < 2; i++) {
        const error = await new Promise<grpc.ServiceError>((resolve) =>
          kv.put({ key: 'k', value: Buffer.from('v'), session: undefined }, (e) => resolve(e!)),
        );
        expect(error.code).toBe(grpc.status.UNAVAILABLE);
        expect(error.metadata.get('synod-error')).toEqual(['NOT_LEADER']);
        expect(error.details).toMatch(/leader unknown/);
      }
    } finally {
      kv.close();
      await server.stop(100);
    }
  });
});
