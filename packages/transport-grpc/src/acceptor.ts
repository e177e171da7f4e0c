import * as grpc from '@grpc/grpc-js';
import type { NodeId, TimerHandle } from '@synod/core';
import { decodeFrameOrReject, encodeHelloFrame, isRejection } from './frames.js';
import { checkDialerHello } from './handshake.js';
import { identityOfCertificate } from './identity.js';
import type { LinkStream, PeerLink } from './peer-link.js';
import { quote, reject, type Rejection } from './rejection.js';
import type { StreamHost } from './stream-host.js';

/**
 * Checks the certificate of an accepted stream before anything is read from
 * it: with TLS, only a verified node certificate of this cluster, naming a
 * member, may open a peer stream. Returns the certified node id.
 */
function certifiedNode(call: grpc.ServerDuplexStream<Buffer, Buffer>, host: StreamHost): NodeId | Rejection | undefined {
  if (!host.tls) return undefined;
  // grpc-js reports a peer certificate only when it chained to the CA.
  const certificate = call.getAuthContext().sslPeerCertificate;
  if (certificate === undefined) {
    return reject(grpc.status.UNAUTHENTICATED, 'a peer stream needs a client certificate signed by the cluster CA');
  }
  const identity = identityOfCertificate(certificate);
  if (identity === undefined || identity.kind !== 'node') {
    return reject(grpc.status.PERMISSION_DENIED, 'the client certificate names no Synod node (URI SAN spiffe://synod/<cluster>/<node>)');
  }
  if (identity.clusterId !== host.handshake.clusterId) {
    return reject(grpc.status.PERMISSION_DENIED, `the client certificate is for cluster ${quote(identity.clusterId)}`);
  }
  if (identity.nodeId === host.handshake.localId || !host.handshake.isMember(identity.nodeId)) {
    return reject(grpc.status.PERMISSION_DENIED, `node ${quote(identity.nodeId)} is not a member of this node's cluster`);
  }
  return identity.nodeId;
}

/** The accepting side's view of one Connect call. */
class AcceptedStream {
  readonly stream: LinkStream;
  readonly #call: grpc.ServerDuplexStream<Buffer, Buffer>;
  readonly #host: StreamHost;
  readonly #certifiedId: NodeId | undefined;
  #link: PeerLink | undefined;
  #helloTimer: TimerHandle | undefined;
  #done = false;
  #resolveFinished!: () => void;

  constructor(call: grpc.ServerDuplexStream<Buffer, Buffer>, host: StreamHost, certifiedId: NodeId | undefined) {
    this.#call = call;
    this.#host = host;
    this.#certifiedId = certifiedId;
    const finished = new Promise<void>((resolve) => (this.#resolveFinished = resolve));
    this.stream = {
      write: (frame) => call.write(frame),
      onceDrain: (listener) => call.once('drain', listener),
      end: () => this.#end(),
      abort: (code, reason) => this.#abort(reject(code, reason)),
      finished,
    };
    call.on('data', (frame: Buffer) => this.#onFrame(frame));
    // The dialer half-closed: it is done sending, so this side ends too.
    call.on('end', () => this.#end());
    call.on('cancelled', () => {
      // grpc-js reports a frame over its hard size cap the same way as a
      // cancel by the peer: the log line names both.
      if (this.#link !== undefined && !this.#done) {
        this.#host.logger.warn({ peer: this.#link.peerId }, 'peer stream cancelled (by the peer, or by gRPC for a frame over its size cap)');
      }
      this.#finish(new Error('the stream was cancelled'));
    });
    call.on('error', (err: Error) => this.#finish(err));
    call.on('finish', () => this.#finish(undefined));
    this.#helloTimer = host.clock.setTimeout(() => {
      this.#helloTimer = undefined;
      this.#refuse(reject(grpc.status.DEADLINE_EXCEEDED, `no hello within ${host.connectTimeoutMs} ms`));
    }, host.connectTimeoutMs);
  }

  /** Who the peer is, as far as this stream knows, for log lines. */
  get #who(): string {
    return this.#link?.peerId ?? this.#certifiedId ?? this.#call.getPeer();
  }

  #onFrame(frame: Buffer): void {
    if (this.#done) return;
    const link = this.#link;
    if (link !== undefined) {
      const rejection = this.#host.receive(link, frame);
      if (rejection !== undefined) this.#refuse(rejection);
      return;
    }
    const decoded = decodeFrameOrReject(frame);
    if (isRejection(decoded)) {
      this.#refuse(decoded);
      return;
    }
    if (decoded.kind !== 'hello') {
      this.#refuse(reject(grpc.status.INVALID_ARGUMENT, 'the first frame is not a hello'));
      return;
    }
    const { hello } = decoded;
    const rejection = checkDialerHello(hello, this.#host.handshake, this.#certifiedId);
    const accepted = rejection === undefined ? this.#host.link(hello.nodeId) : undefined;
    if (accepted === undefined) {
      this.#refuse(rejection ?? reject(grpc.status.PERMISSION_DENIED, `node ${quote(hello.nodeId)} is not a member`));
      return;
    }
    this.#clearHelloTimer();
    this.#call.write(Buffer.from(encodeHelloFrame(this.#host.hello(accepted.peerId))));
    // Only the peer dials this node, so a new stream from it means it gave
    // up on the old one: the new stream replaces it.
    const previous = accepted.stream;
    previous?.abort(grpc.status.ABORTED, 'replaced by a newer stream from the same node');
    this.#link = accepted;
    accepted.attach(this.stream, hello.maxMessageBytes);
    this.#host.logger.info({ peer: accepted.peerId, from: this.#call.getPeer() }, 'peer stream accepted');
  }

  /** Ends the stream with `rejection`'s status, logged once. */
  #refuse(rejection: Rejection): void {
    if (this.#done) return;
    this.#host.refused(this.#who, rejection);
    this.#abort(rejection);
  }

  #abort(rejection: Rejection): void {
    if (this.#done) return;
    this.#detach();
    // grpc-js turns an 'error' on a server stream into its status.
    this.#call.emit('error', { code: rejection.code, details: rejection.reason });
  }

  #end(): void {
    if (this.#done) return;
    this.#detach();
    this.#call.end();
  }

  #detach(): void {
    this.#clearHelloTimer();
    if (this.#link !== undefined) this.#link.detach(this.stream);
  }

  #finish(cause: Error | undefined): void {
    if (this.#done) return;
    this.#done = true;
    this.#clearHelloTimer();
    const link = this.#link;
    if (link !== undefined && link.detach(this.stream) && cause !== undefined) this.#host.lost(link, cause);
    this.#resolveFinished();
  }

  #clearHelloTimer(): void {
    if (this.#helloTimer !== undefined) this.#host.clock.clearTimeout(this.#helloTimer);
    this.#helloTimer = undefined;
  }
}

/**
 * The Connect handler of a node's peer service. It keeps the accepted
 * streams so that close can end them.
 */
export class Acceptor {
  readonly #host: StreamHost;
  readonly #streams = new Set<AcceptedStream>();

  constructor(host: StreamHost) {
    this.#host = host;
  }

  readonly handle = (call: grpc.ServerDuplexStream<Buffer, Buffer>): void => {
    // Errors on a refused call must not go unhandled.
    if (this.#host.isClosing()) {
      call.on('error', () => undefined);
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'this node is shutting down' });
      return;
    }
    const certified = certifiedNode(call, this.#host);
    if (typeof certified === 'object') {
      this.#host.refused(call.getPeer(), certified);
      call.on('error', () => undefined);
      call.emit('error', { code: certified.code, details: certified.reason });
      return;
    }
    const accepted = new AcceptedStream(call, this.#host, certified);
    this.#streams.add(accepted);
    void accepted.stream.finished.then(() => this.#streams.delete(accepted));
  };

  /** Ends every accepted stream after what was written; resolves when all are over. */
  async endAll(): Promise<void> {
    const streams = [...this.#streams];
    for (const accepted of streams) accepted.stream.end();
    await Promise.all(streams.map((accepted) => accepted.stream.finished));
  }

  /** Ends every accepted stream at once. */
  abortAll(reason: string): void {
    for (const accepted of this.#streams) accepted.stream.abort(grpc.status.UNAVAILABLE, reason);
  }
}
