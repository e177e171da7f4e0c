import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tcpProbe } from '../../src/detection/tcp-probe.js';

function ignore(): void {
  // Errors from sockets the probe destroys are expected here.
}

/** Real loopback sockets: the one place where the detection tests touch the network. */
function listen(onConnection: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer(onConnection);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      resolve({ server, port: address.port });
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('tcpProbe (loopback)', () => {
  const sockets = new Set<Socket>();
  let echo: { server: Server; port: number };
  let silent: { server: Server; port: number };
  let hangup: { server: Server; port: number };
  let closedPort: number;
  /** Resolves with the silent server's next accepted connection. */
  let nextSilentConnection: ((socket: Socket) => void) | undefined;
  /** Resolve when the silent server's side of each connection has closed. */
  const silentClosed: Promise<void>[] = [];

  beforeAll(async () => {
    echo = await listen((socket) => {
      sockets.add(socket);
      socket.on('data', (data) => socket.write(data));
      socket.on('error', ignore);
    });
    silent = await listen((socket) => {
      sockets.add(socket);
      socket.on('error', ignore);
      silentClosed.push(new Promise((resolve) => socket.once('close', () => resolve())));
      // Read and discard, so the server notices when the client goes away.
      socket.resume();
      nextSilentConnection?.(socket);
    });
    hangup = await listen((socket) => {
      sockets.add(socket);
      socket.on('error', ignore);
      socket.resume();
      socket.end();
    });
    const temp = await listen(ignore);
    closedPort = temp.port;
    await close(temp.server);
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await Promise.all([close(echo.server), close(silent.server), close(hangup.server)]);
  });

  it('connects to a listening port and reports the connect time', async () => {
    const result = await tcpProbe({ host: '127.0.0.1', port: echo.port, deadlineMs: 200 });
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.connectMs).toBeGreaterThanOrEqual(0);
      expect(result.rttMs).toBe(result.connectMs);
    }
  });

  it('sends a payload and matches the expected reply', async () => {
    const result = await tcpProbe({ host: '127.0.0.1', port: echo.port, payload: 'PING\n', expect: 'PING', deadlineMs: 200 });
    expect(result.ok).toBe(true);
    if (result.ok) expect(Buffer.from(result.reply!).toString()).toBe('PING\n');
  });

  it('flags a reply that does not match', async () => {
    const result = await tcpProbe({ host: '127.0.0.1', port: echo.port, payload: 'HELLO', expect: 'PONG', deadlineMs: 200 });
    expect(result).toMatchObject({ ok: false, reason: 'unexpected-reply' });
  });

  it('classifies a closed port as refused', async () => {
    const result = await tcpProbe({ host: '127.0.0.1', port: closedPort, deadlineMs: 200 });
    expect(result).toMatchObject({ ok: false, reason: 'refused' });
  });

  it('times out against a server that accepts and never answers', async () => {
    const started = performance.now();
    const result = await tcpProbe({ host: '127.0.0.1', port: silent.port, payload: 'PING', deadlineMs: 200 });
    const elapsed = performance.now() - started;
    expect(result).toEqual({ ok: false, reason: 'timeout' });
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(1000);
  });

  it('reports closed-without-reply when the server hangs up', async () => {
    const result = await tcpProbe({ host: '127.0.0.1', port: hangup.port, payload: 'PING', deadlineMs: 200 });
    expect(result).toMatchObject({ ok: false, reason: 'closed-without-reply' });
  });

  it('stops at once when aborted, and leaves no socket open on the server', async () => {
    const controller = new AbortController();
    const accepted = new Promise<Socket>((resolve) => (nextSilentConnection = resolve));
    const pending = tcpProbe({ host: '127.0.0.1', port: silent.port, payload: 'x', deadlineMs: 5000, signal: controller.signal });
    // Aborted while connected: the server has accepted and the probe waits for a reply.
    await accepted;
    nextSilentConnection = undefined;
    controller.abort();
    await expect(pending).resolves.toEqual({ ok: false, reason: 'aborted' });
    // Every probe destroyed its socket: once the server has seen each close, no connection is open.
    await Promise.all(silentClosed);
    const open = await new Promise<number>((resolve) => silent.server.getConnections((_, n) => resolve(n)));
    expect(open).toBe(0);
  });

  it('rejects an invalid port synchronously', () => {
    expect(() => tcpProbe({ host: '127.0.0.1', port: 0, deadlineMs: 100 })).toThrow(/port/);
  });
});
