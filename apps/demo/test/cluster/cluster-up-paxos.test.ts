import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { runClusterUp } from '../../src/server/cluster-up.js';
import { createServer } from 'node:net';

const dir = mkdtempSync(join(tmpdir(), 'synod-cluster-up-paxos-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A port P with P, P+1 and P+2 free on loopback just now (cluster up takes consecutive ports). */
async function freeRunOfThree(): Promise<number> {
  const free = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    if ((await free(base)) && (await free(base + 1)) && (await free(base + 2))) return base;
  }
}

function capture(): { io: { stdout: (l: string) => void; stderr: (l: string) => void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (l) => out.push(l), stderr: (l) => err.push(l) }, out, err };
}

it('cluster up --algorithm paxos starts three Multi-Paxos serve processes that kv and status use, and stops them on SIGINT', async () => {
  const base = await freeRunOfThree();
  const signals = new EventEmitter();
  const up = capture();
  const running = runClusterUp(['up', '--nodes', '3', '--algorithm', 'paxos', '--base-port', String(base), '--data', dir, '--tick-ms', '50', '--insecure'], up.io, signals);
  const deadline = Date.now() + 90_000;
  while (!up.out.some((line) => /^synod cluster: ready: 3\/3 nodes serving, leader n\d/.test(line))) {
    if (Date.now() > deadline || up.out.some((line) => /exited/.test(line))) throw new Error(`not ready:\n${up.out.join('\n')}\n${up.err.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(up.out.join('\n')).toMatch(/3 nodes of cluster 'synod' \(Multi-Paxos\)/);
  const endpoints = ['--endpoints', [0, 1, 2].map((i) => `127.0.0.1:${base + i}`).join(','), '--insecure'];
  const put = capture();
  expect(await main(['kv', 'put', 'greeting', 'hello', ...endpoints], put.io)).toBe(0);
  const get = capture();
  expect(await main(['kv', 'get', 'greeting', ...endpoints], get.io)).toBe(0);
  expect(get.out).toEqual(['hello']);
  const status = capture();
  expect(await main(['status', ...endpoints], status.io)).toBe(0);
  expect(status.out.filter((line) => /\sleader\s/.test(line))).toHaveLength(1);

  signals.emit('SIGINT');
  expect(await running).toBe(0);
}, 180_000);
