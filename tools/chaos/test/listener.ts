import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { run } from '../src/shell.js';
import type { NetworkLab } from '../src/network-lab.js';

const TCP_PORT = 9000;
const UDP_PORT = 9001;

/**
 * A TCP and UDP listener in one host's namespace: TCP connections are
 * accepted and closed, each UDP datagram's sender is printed on a line.
 */
export class Listener {
  readonly #child: ChildProcess;
  readonly #datagrams: string[] = [];

  private constructor(child: ChildProcess) {
    this.#child = child;
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) if (line.startsWith('udp ')) this.#datagrams.push(line.slice(4));
    });
  }

  static async start(lab: NetworkLab, id: string): Promise<Listener> {
    const address = lab.hosts.get(id)!.address;
    const script = `
      const net = require('node:net'), dgram = require('node:dgram');
      const udp = dgram.createSocket('udp4');
      udp.on('message', (_m, from) => process.stdout.write('udp ' + from.address + '\\n'));
      udp.bind(${UDP_PORT}, '${address}', () => {
        net.createServer((s) => s.end()).listen(${TCP_PORT}, '${address}', () => process.stdout.write('ready\\n'));
      });`;
    const child = spawn(lab.execPrefix(id)[0]!, [...lab.execPrefix(id).slice(1), process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`listener in ${id} exited with ${code}`)));
    });
    return new Listener(child);
  }

  /** Senders of the datagrams received so far. */
  get datagramsFrom(): readonly string[] {
    return this.#datagrams;
  }

  stop(): void {
    this.#child.kill('SIGKILL');
  }
}

/** Whether a TCP connection from `from`'s namespace to `to`'s listener completes within `timeoutMs`. */
export async function tcpReaches(lab: NetworkLab, from: string, to: string, timeoutMs = 1_500): Promise<boolean> {
  const address = lab.hosts.get(to)!.address;
  const seconds = (timeoutMs / 1000).toFixed(1);
  try {
    await run([...lab.execPrefix(from), 'timeout', seconds, 'bash', '-c', `exec 3<>/dev/tcp/${address}/${TCP_PORT}`]);
    return true;
  } catch {
    return false;
  }
}

/** Sends a few UDP datagrams from `from`'s namespace to `to`'s listener. */
export async function sendDatagrams(lab: NetworkLab, from: string, to: string): Promise<void> {
  const address = lab.hosts.get(to)!.address;
  await run([...lab.execPrefix(from), 'bash', '-c', `for i in 1 2 3; do echo hi > /dev/udp/${address}/${UDP_PORT}; done`]);
}

/** Milliseconds for a TCP handshake from the root namespace (where the clients live) to `to`'s listener; the median of `samples`. */
export async function connectMs(lab: NetworkLab, to: string, samples = 5): Promise<number> {
  const address = lab.hosts.get(to)!.address;
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const socket = connect(TCP_PORT, address, () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
    });
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(samples / 2)]!;
}
