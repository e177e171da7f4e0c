import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { runClusterUp } from '../../src/server/cluster-up.js';
import { freePorts } from './process-cluster.js';

const dir = mkdtempSync(join(tmpdir(), 'synod-cluster-up-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture(): { io: { stdout: (l: string) => void; stderr: (l: string) => void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (l) => out.push(l), stderr: (l) => err.push(l) }, out, err };
}

it('cluster up makes certificates, starts serve processes with mutual TLS that kv and status use, and stops them all on SIGINT', async () => {
  const [port] = await freePorts(1);
  const signals = new EventEmitter();
  const up = capture();
  const running = runClusterUp(['up', '--nodes', '1', '--base-port', String(port), '--data', dir, '--tick-ms', '20'], up.io, signals);
  const deadline = Date.now() + 60_000;
  while (!up.out.some((line) => line.includes('serving cluster'))) {
    if (Date.now() > deadline) throw new Error(`no node served:\n${up.out.join('\n')}\n${up.err.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(up.out.join('\n')).toMatch(new RegExp(`endpoints: 127\\.0\\.0\\.1:${port}`));
  // Start-up ends with one line once the node serves and leads (no progress line: this is not a terminal).
  while (!up.out.some((line) => /^synod cluster: ready: 1\/1 nodes serving, leader n1 \(term \d+\), after [\d.]+ s$/.test(line))) {
    if (Date.now() > deadline) throw new Error(`not ready:\n${up.out.join('\n')}\n${up.err.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(statSync(join(dir, 'tls', 'n1.key')).mode & 0o777).toBe(0o600);
  const tls = ['--endpoints', `127.0.0.1:${port}`, '--tls-ca', join(dir, 'tls', 'ca.crt'), '--tls-cert', join(dir, 'tls', 'client.crt'), '--tls-key', join(dir, 'tls', 'client.key')];

  const put = capture();
  expect(await main(['kv', 'put', 'greeting', 'hello', ...tls], put.io)).toBe(0);
  expect(put.out).toEqual(['OK revision 1']);
  const get = capture();
  expect(await main(['kv', 'get', 'greeting', ...tls], get.io)).toBe(0);
  expect(get.out).toEqual(['hello']);
  const cas = capture();
  expect(await main(['kv', 'cas', 'greeting', 'bye', '--expect', 'nope', ...tls], cas.io)).toBe(1);
  expect(cas.out[0]).toMatch(/^NOT SWAPPED: greeting = hello/);
  const status = capture();
  expect(await main(['status', ...tls], status.io)).toBe(0);
  expect(status.out[0]).toMatch(/^ID\s+ENDPOINT\s+ROLE\s+TERM\s+LEADER\s+COMMIT\s+APPLIED\s+HEALTH$/);
  expect(status.out[1]).toMatch(/^n1\s+127\.0\.0\.1:\d+\s+leader\s+\d+\s+n1\s+\d+\s+\d+\s+serving$/);
  // Without the client certificate the node refuses the connection.
  const anonymous = capture();
  expect(await main(['kv', 'get', 'greeting', '--timeout', '1000', '--endpoints', `127.0.0.1:${port}`, '--tls-ca', join(dir, 'tls', 'ca.crt')], anonymous.io)).toBe(69);

  signals.emit('SIGINT');
  expect(await running).toBe(0);
  expect(up.out.at(-1)).toBe('synod cluster: all nodes stopped');
}, 120_000);

it('cluster up --transport nats starts a nats-server of its own, serve processes that kv and status reach with --nats-url, and stops them all on SIGINT', async () => {
  const natsDir = join(dir, 'nats');
  const signals = new EventEmitter();
  const up = capture();
  const running = runClusterUp(['up', '--transport', 'nats', '--nodes', '3', '--data', natsDir, '--tick-ms', '20'], up.io, signals);
  const deadline = Date.now() + 60_000;
  while (up.out.filter((line) => line.includes('serving cluster')).length < 3) {
    if (Date.now() > deadline) throw new Error(`the nodes did not all serve:\n${up.out.join('\n')}\n${up.err.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const url = /started nats-server on (nats:\/\/127\.0\.0\.1:\d+)/.exec(up.out.join('\n'))?.[1];
  expect(url).toBeDefined();
  expect(up.out.join('\n')).toContain(`synod kv put hello world --nats-url ${url}`);

  const put = capture();
  expect(await main(['kv', 'put', 'greeting', 'hello', '--nats-url', url!], put.io)).toBe(0);
  expect(put.out[0]).toMatch(/^OK revision \d+$/);
  const get = capture();
  expect(await main(['kv', 'get', 'greeting', '--nats-url', url!], get.io)).toBe(0);
  expect(get.out).toEqual(['hello']);
  const status = capture();
  expect(await main(['status', '--nats-url', url!], status.io)).toBe(0);
  // The member table ends at the blank line before the SWIM table.
  expect(status.out.slice(1, status.out.includes('') ? status.out.indexOf('') : undefined).map((line) => line.split(/\s+/)[0])).toEqual(['n1', 'n2', 'n3']);
  expect(status.out.filter((line) => /\sleader\s/.test(line))).toHaveLength(1);
  // Another cluster id on the same server: nobody answers, and the command says so.
  const elsewhere = capture();
  expect(await main(['kv', 'get', 'greeting', '--nats-url', url!, '--cluster-id', 'other', '--timeout', '500'], elsewhere.io)).toBe(69);
  expect(elsewhere.err.join('\n')).toMatch(/NATS_NO_RESPONDERS/);

  signals.emit('SIGINT');
  expect(await running).toBe(0);
  expect(up.out.at(-1)).toBe('synod cluster: all nodes stopped');
}, 120_000);
