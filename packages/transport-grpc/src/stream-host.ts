import type * as grpc from '@grpc/grpc-js';
import type { Clock, Logger, NodeId } from '@synod/core';
import type { Hello } from './frames.js';
import type { HandshakeContext } from './handshake.js';
import type { PeerLink } from './peer-link.js';
import type { Rejection } from './rejection.js';

/**
 * What the dialer and the acceptor need from their transport. Both hand
 * every frame after the handshake to {@link StreamHost.receive}, which
 * decodes, checks and delivers it, so the two directions cannot diverge in
 * what they accept.
 */
export interface StreamHost {
  readonly handshake: HandshakeContext;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly connectTimeoutMs: number;
  /** Whether TLS is on: streams then need a verified node certificate. */
  readonly tls: boolean;
  /** True once the transport is closing: no new streams. */
  isClosing(): boolean;
  /** The Hello this node sends to `peerId`. */
  hello(peerId: NodeId): Hello;
  /** The link to a member, or undefined for a non-member. */
  link(peerId: NodeId): PeerLink | undefined;
  /** Decodes, checks and delivers one frame received on `link`'s stream after the handshake. */
  receive(link: PeerLink, frame: Uint8Array): Rejection | undefined;
  /** Logs (once) and counts a stream this node ends for bad input or a failed check. */
  refused(peer: string, rejection: Rejection): void;
  /** A stream to or from `link`'s peer ended with an error, or a dial failed. */
  lost(link: PeerLink, cause: Error): void;
  /** Credentials and channel options to dial `peerId`. */
  dialSettings(peerId: NodeId): { readonly credentials: grpc.ChannelCredentials; readonly options: grpc.ChannelOptions };
}
