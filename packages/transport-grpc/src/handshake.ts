import { status } from '@grpc/grpc-js';
import type { NodeId } from '@synod/core';
import { STREAM_PROTOCOL_VERSION, type Hello } from './frames.js';
import { quote, reject, type Rejection } from './rejection.js';

/**
 * The rule that decides which node of a pair dials: the one whose id sorts
 * first in JavaScript string order (UTF-16 code units; byte order for ASCII
 * ids). Exactly one side dials, so two nodes never race to open two
 * streams, and the acceptor may treat a new stream from a peer as replacing
 * the old one.
 */
export function dialsTo(localId: NodeId, peerId: NodeId): boolean {
  return localId < peerId;
}

/** What a node knows when it checks a Hello. */
export interface HandshakeContext {
  readonly localId: NodeId;
  readonly clusterId: string;
  readonly isMember: (id: NodeId) => boolean;
}

function checkCommon(hello: Hello, ctx: HandshakeContext): Rejection | undefined {
  if (hello.version !== STREAM_PROTOCOL_VERSION) {
    return reject(status.FAILED_PRECONDITION, `stream protocol version ${hello.version} is not supported (this node speaks ${STREAM_PROTOCOL_VERSION})`);
  }
  if (hello.clusterId !== ctx.clusterId) {
    return reject(status.PERMISSION_DENIED, `cluster id ${quote(hello.clusterId)} is not this node's cluster ${quote(ctx.clusterId)}`);
  }
  if (hello.peerId !== ctx.localId) {
    return reject(status.INVALID_ARGUMENT, `the hello is addressed to node ${quote(hello.peerId)}, but this is node ${quote(ctx.localId)}`);
  }
  return undefined;
}

/**
 * The acceptor's checks of a dialer's Hello. `certifiedId` is the node id
 * the dialer's certificate proved (undefined without TLS).
 */
export function checkDialerHello(hello: Hello, ctx: HandshakeContext, certifiedId: NodeId | undefined): Rejection | undefined {
  const common = checkCommon(hello, ctx);
  if (common !== undefined) return common;
  if (certifiedId !== undefined && hello.nodeId !== certifiedId) {
    return reject(status.PERMISSION_DENIED, `the hello claims node ${quote(hello.nodeId)} but the certificate is node ${quote(certifiedId)}'s`);
  }
  if (hello.nodeId === ctx.localId || !ctx.isMember(hello.nodeId)) {
    return reject(status.PERMISSION_DENIED, `node ${quote(hello.nodeId)} is not a member of this node's cluster`);
  }
  if (!dialsTo(hello.nodeId, ctx.localId)) {
    return reject(status.FAILED_PRECONDITION, `node ${quote(ctx.localId)} dials node ${quote(hello.nodeId)}, not the other way round`);
  }
  return undefined;
}

/** The dialer's checks of the acceptor's answering Hello. */
export function checkAcceptorHello(hello: Hello, ctx: HandshakeContext, expectedId: NodeId): Rejection | undefined {
  const common = checkCommon(hello, ctx);
  if (common !== undefined) return common;
  if (hello.nodeId !== expectedId) {
    return reject(status.PERMISSION_DENIED, `dialled node ${quote(expectedId)} but node ${quote(hello.nodeId)} answered`);
  }
  return undefined;
}
