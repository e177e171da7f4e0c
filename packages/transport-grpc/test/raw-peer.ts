import * as grpc from '@grpc/grpc-js';
import { envelopeV1, peerServiceV1 } from '@synod/protocol';
import { peerServiceDefinition } from '../src/index.js';

/**
 * A hand-driven peer: it opens a Connect stream and sends whatever frames a
 * test builds, so tests can play a faulty or hostile node.
 */
export class RawPeer {
  readonly #client: grpc.Client;
  readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  readonly received: Buffer[] = [];
  readonly status: Promise<grpc.StatusObject>;

  constructor(address: string, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(), options: grpc.ChannelOptions = {}) {
    this.#client = new grpc.Client(address, credentials, { 'grpc.use_local_subchannel_pool': 1, ...options });
    const method = peerServiceDefinition.connect;
    this.call = this.#client.makeBidiStreamRequest(method.path, (b: Buffer) => b, (b: Buffer) => b);
    this.call.on('data', (frame: Buffer) => this.received.push(frame));
    this.call.on('error', () => undefined);
    this.status = new Promise((resolve) => this.call.on('status', resolve));
  }

  send(frame: Uint8Array): void {
    this.call.write(Buffer.from(frame));
  }

  close(): void {
    this.call.cancel();
    this.#client.close();
  }
}

export interface HelloFields {
  readonly version?: number;
  readonly clusterId?: string;
  readonly nodeId: string;
  readonly peerId: string;
  readonly maxMessageBytes?: number;
}

export function helloFrame(fields: HelloFields): Uint8Array {
  return peerServiceV1.ConnectRequest.encode({
    frame: {
      $case: 'hello',
      value: { version: 1, clusterId: 'test-cluster', maxMessageBytes: 0, ...fields },
    },
  }).finish();
}

export interface EnvelopeFields {
  readonly clusterId?: string;
  readonly from: string;
  readonly to: string;
  readonly protocol?: string;
  readonly payload?: Uint8Array;
}

export function batchFrame(...envelopes: EnvelopeFields[]): Uint8Array {
  return peerServiceV1.ConnectRequest.encode({
    frame: {
      $case: 'batch',
      value: {
        envelopes: envelopes.map((e) => ({
          clusterId: e.clusterId ?? 'test-cluster',
          from: e.from,
          to: e.to,
          protocol: e.protocol ?? 'raft',
          payload: Buffer.from(e.payload ?? new Uint8Array([1, 2, 3])),
        })),
      },
    },
  }).finish();
}

/** One encoded Envelope, for building frames by hand. */
export function envelopeBytes(fields: EnvelopeFields): Uint8Array {
  return envelopeV1.Envelope.encode({
    clusterId: fields.clusterId ?? 'test-cluster',
    from: fields.from,
    to: fields.to,
    protocol: fields.protocol ?? 'raft',
    payload: Buffer.from(fields.payload ?? new Uint8Array(0)),
  }).finish();
}
