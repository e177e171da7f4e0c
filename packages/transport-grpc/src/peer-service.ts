import type * as grpc from '@grpc/grpc-js';
import { peerServiceV1 } from '@synod/protocol';

/** Frames cross grpc-js as the bytes they are. */
export const passThrough = (bytes: Buffer): Buffer => bytes;

/**
 * `synod.peer.v1.Peer` as generated, but carrying raw frame bytes: the
 * transport decodes frames itself, so a malformed one gets a clear status
 * and a log line of its own instead of an exception inside grpc-js, and
 * batches are framed around envelopes that were encoded once.
 */
export const rawPeerService = {
  connect: {
    ...peerServiceV1.PeerService.connect,
    requestSerialize: passThrough,
    requestDeserialize: passThrough,
    responseSerialize: passThrough,
    responseDeserialize: passThrough,
  },
} satisfies grpc.ServiceDefinition;

/** The method path of the Connect stream. */
export const CONNECT_PATH = peerServiceV1.PeerService.connect.path;
