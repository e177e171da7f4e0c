import { connect, type Socket } from 'node:net';
import { InvalidArgumentError } from '../errors/errors.js';
import { systemClock, type Clock } from '../time/clock.js';

/** Why a TCP probe failed. */
export type TcpProbeFailure =
  /** The host answered with a reset to the SYN: nothing listens on the port. */
  | 'refused'
  /** No connection, or no (complete) reply, before the deadline. */
  | 'timeout'
  /** The connection was reset after it was established. */
  | 'reset'
  /** No route, unknown host, or the network is down. */
  | 'unreachable'
  /** The peer closed the connection before a (complete) reply arrived. */
  | 'closed-without-reply'
  /** A reply arrived but did not start with the expected bytes. */
  | 'unexpected-reply'
  /** The caller's AbortSignal fired. */
  | 'aborted';

/** The outcome of {@link tcpProbe}. Failures carry the socket error, if there was one. */
export type TcpProbeResult =
  | {
      readonly ok: true;
      /** Round trip of the payload and its reply; the connect time when no payload was sent. */
      readonly rttMs: number;
      /** Time to establish the connection (a TCP handshake is itself one round trip). */
      readonly connectMs: number;
      /** The bytes received, when a payload was sent. */
      readonly reply?: Uint8Array;
    }
  | { readonly ok: false; readonly reason: TcpProbeFailure; readonly error?: Error };

/** What to probe and how. */
export interface TcpProbeOptions {
  readonly host: string;
  readonly port: number;
  /** Total time allowed for connect, send and reply, in ms. */
  readonly deadlineMs: number;
  /** Sent once connected; the probe then waits for a reply. */
  readonly payload?: Uint8Array | string;
  /**
   * Bytes the reply must start with. Without it, any first data counts as a
   * reply. Implies waiting for at least this many bytes.
   */
  readonly expect?: Uint8Array | string;
  readonly signal?: AbortSignal;
  /** Clock for the deadline timer and the measurements. @default systemClock */
  readonly clock?: Clock;
}

const UNREACHABLE_CODES = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL', 'ENETDOWN', 'EHOSTDOWN']);

function errorCode(error: Error): string | undefined {
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? code : undefined;
}

function ignoreLateError(): void {
  // Nothing to do: the probe has already settled.
}

function toBytes(value: Uint8Array | string): Uint8Array {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

/** Maps a socket error to a failure, depending on whether the connection was up. */
function classify(error: Error, connected: boolean): TcpProbeFailure {
  const code = errorCode(error);
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ETIMEDOUT') return 'timeout';
  if (code !== undefined && UNREACHABLE_CODES.has(code)) return 'unreachable';
  if (code === 'ECONNRESET' || code === 'EPIPE') return connected ? 'reset' : 'refused';
  return connected ? 'reset' : 'unreachable';
}

/**
 * Checks that a TCP service answers: connects within the deadline, optionally
 * sends `payload` and waits for a reply (optionally starting with `expect`),
 * and measures the round trip. It never rejects for network trouble; the
 * failure is classified instead. The socket is always destroyed before the
 * promise settles, whatever happens.
 *
 * This is the one place in the detection module that does I/O; everything
 * else is pure.
 *
 * @throws InvalidArgumentError (synchronously) for a bad port or deadline.
 * @example
 * ```ts
 * const result = await tcpProbe({ host: '127.0.0.1', port: 6379, payload: 'PING\r\n', expect: '+PONG', deadlineMs: 200 });
 * if (!result.ok) console.log(`redis ${result.reason}`);
 * else console.log(`redis answered in ${result.rttMs.toFixed(2)} ms`);
 * ```
 */
export function tcpProbe(options: TcpProbeOptions): Promise<TcpProbeResult> {
  const { host, port, deadlineMs } = options;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError(`invalid port ${port}`);
  if (!(deadlineMs > 0)) throw new InvalidArgumentError(`deadlineMs must be > 0, got ${deadlineMs}`);
  if (options.signal?.aborted === true) return Promise.resolve({ ok: false, reason: 'aborted' });
  const clock = options.clock ?? systemClock;
  const payload = options.payload === undefined ? undefined : toBytes(options.payload);
  const expect = options.expect === undefined ? undefined : toBytes(options.expect);

  return new Promise<TcpProbeResult>((resolve) => {
    const startMs = clock.now();
    let connectMs: number | undefined;
    let sentMs = 0;
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    let socket: Socket | undefined;

    const onAbort = (): void => finish({ ok: false, reason: 'aborted' });
    const timer = clock.setTimeout(() => finish({ ok: false, reason: 'timeout' }), deadlineMs);

    function finish(result: TcpProbeResult): void {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (socket !== undefined) {
        socket.removeAllListeners();
        // Late errors from a destroyed socket must not become uncaught exceptions.
        socket.on('error', ignoreLateError);
        socket.destroy();
      }
      resolve(result);
    }

    function onData(chunk: Buffer): void {
      chunks.push(chunk);
      received += chunk.length;
      if (expect !== undefined && received < expect.length) {
        // Fail fast on a reply that already diverges.
        const soFar = Buffer.concat(chunks);
        if (!soFar.equals(Buffer.from(expect.subarray(0, soFar.length)))) {
          finish({ ok: false, reason: 'unexpected-reply' });
        }
        return;
      }
      const reply = Buffer.concat(chunks);
      const rttMs = clock.now() - sentMs;
      if (expect !== undefined && !reply.subarray(0, expect.length).equals(Buffer.from(expect))) {
        finish({ ok: false, reason: 'unexpected-reply' });
        return;
      }
      finish({ ok: true, rttMs, connectMs: connectMs ?? rttMs, reply: new Uint8Array(reply) });
    }

    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      socket = connect({ host, port });
    } catch (err) {
      finish({ ok: false, reason: 'unreachable', error: err instanceof Error ? err : new Error(String(err)) });
      return;
    }
    socket.setNoDelay(true);
    socket.once('connect', () => {
      connectMs = clock.now() - startMs;
      if (payload === undefined) {
        finish({ ok: true, rttMs: connectMs, connectMs });
        return;
      }
      sentMs = clock.now();
      socket?.write(payload);
    });
    socket.on('data', onData);
    socket.on('error', (error: Error) => {
      finish({ ok: false, reason: classify(error, connectMs !== undefined), error });
    });
    socket.on('close', () => {
      finish({ ok: false, reason: connectMs === undefined ? 'unreachable' : 'closed-without-reply' });
    });
    socket.on('end', () => {
      finish({ ok: false, reason: 'closed-without-reply' });
    });
  });
}
