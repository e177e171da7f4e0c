import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * `@synod/transport-nats/nats-server`: starts a `nats-server` process of its
 * own on a free loopback port, with its own configuration file, for tests,
 * benchmarks and local clusters. The transport itself never loads it.
 *
 * @example
 * ```ts
 * import { NatsServer } from '@synod/transport-nats/nats-server';
 * const server = await NatsServer.start({ maxPayload: 64 * 1024 });
 * const transport = new NatsTransport({ ..., servers: server.url });
 * await server.dispose();
 * ```
 *
 * @packageDocumentation
 */

/** What to do when the binary is missing (the same advice as the repository's tools/scripts/ensure-system-deps.sh). */
export const NATS_SERVER_INSTALL_HINT =
  "a real NATS server is needed but no nats-server binary was found: install the Debian/Ubuntu package 'nats-server' " +
  '(for example: sudo apt-get install -y nats-server), or put nats-server on the PATH';

/** The `nats-server` binary: on PATH, or in /usr/sbin where Debian puts it (not on a normal user's PATH); undefined when absent. */
export function findNatsServer(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, 'nats-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A free TCP port on loopback (closed again at once; a race with another process is unlikely). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface NatsServerOptions {
  /** The server's `max_payload`, in bytes. @default nats-server's 1 MiB */
  readonly maxPayload?: number;
  /** More configuration, verbatim (an `authorization { ... }` block, say). */
  readonly extraConfig?: string;
}

/**
 * A nats-server of its own: a free loopback port, its own config file in a
 * temporary directory. `stop` and `start` again keep the port, so clients
 * reconnect to the same URL (a broker restart).
 *
 * @example
 * ```ts
 * const server = await NatsServer.start({ extraConfig: 'authorization { token: "s3cret" }' });
 * await server.stop('SIGKILL'); // the broker dies
 * await server.start();         // and comes back on the same port
 * await server.dispose();       // stops it and removes its directory
 * ```
 */
export class NatsServer {
  readonly port: number;
  readonly url: string;
  readonly configPath: string;
  readonly #dir: string;
  readonly #binary: string;
  #process: ChildProcess | undefined;
  #log = '';

  private constructor(binary: string, port: number, options: NatsServerOptions) {
    this.#binary = binary;
    this.port = port;
    this.url = `nats://127.0.0.1:${port}`;
    this.#dir = mkdtempSync(join(tmpdir(), 'synod-nats-'));
    this.configPath = join(this.#dir, 'nats-server.conf');
    const lines = [`listen: 127.0.0.1:${port}`, `server_name: synod-test-${port}`];
    if (options.maxPayload !== undefined) lines.push(`max_payload: ${options.maxPayload}`);
    if (options.extraConfig !== undefined) lines.push(options.extraConfig);
    writeFileSync(this.configPath, `${lines.join('\n')}\n`);
  }

  /** Starts a server; fails with {@link NATS_SERVER_INSTALL_HINT} when there is no nats-server binary. */
  static async start(options: NatsServerOptions = {}): Promise<NatsServer> {
    const binary = findNatsServer();
    if (binary === undefined) throw new Error(NATS_SERVER_INSTALL_HINT);
    const server = new NatsServer(binary, await freePort(), options);
    await server.start();
    return server;
  }

  /** What the server logged so far, for failure messages. */
  get log(): string {
    return this.#log;
  }

  get running(): boolean {
    return this.#process !== undefined;
  }

  /** Starts the process (again) and waits until it accepts clients. */
  async start(): Promise<void> {
    if (this.#process !== undefined) return;
    const child = spawn(this.#binary, ['-c', this.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#process = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nats-server did not get ready in 10 s:\n${this.#log}`)), 10_000);
      const onData = (data: Buffer): void => {
        this.#log += data.toString();
        if (this.#log.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (this.#process === child) this.#process = undefined;
        reject(new Error(`nats-server exited with ${code}:\n${this.#log}`));
      });
    });
  }

  /** Stops the process and waits for it to exit; `SIGKILL` makes it vanish without a word to its clients. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#process;
    if (child === undefined) return;
    this.#process = undefined;
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else {
        child.once('exit', () => resolve());
        child.kill(signal);
      }
    });
  }

  /** Stops the server for good and removes its directory. */
  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
