import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';

function capture(): { io: { stdout: (l: string) => void; stderr: (l: string) => void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (l) => out.push(l), stderr: (l) => err.push(l) }, out, err };
}

const scratch = mkdtempSync(join(tmpdir(), 'synod-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('synod serve, cluster, kv, status: bad input', () => {
  it.each([
    [['serve', '--listen', '127.0.0.1:1', '--data', scratch, '--insecure'], /--id is required/],
    [['serve', '--id', 'n1', '--listen', 'nowhere', '--data', scratch, '--insecure'], /--listen must be host:port/],
    [['serve', '--id', 'n1', '--listen', '127.0.0.1:1', '--data', scratch], /--tls-cert, --tls-key and --tls-ca .* or --insecure/],
    [['serve', '--id', 'n1', '--listen', '127.0.0.1:1', '--data', scratch, '--insecure', '--peers', 'n2'], /--peers entries must look like/],
    [['serve', '--id', 'n1', '--listen', '127.0.0.1:1', '--data', scratch, '--insecure', '--bogus'], /Unknown option '--bogus'/],
    [['serve', '--id', 'n1', '--listen', '127.0.0.1:1', '--data', scratch, '--insecure', '--tls-ca', 'x'], /cannot be combined/],
    [['serve', '--id', 'n1', '--listen', '127.0.0.1:1', '--data', scratch, '--insecure', '--log-level', 'loud'], /--log-level must be one of trace, debug, info, warn, error, fatal, silent, got 'loud'/],
    [['serve', '--id', 'n1', '--listen', '127.0.0.1:1', '--data', scratch, '--insecure', '--log-level', ''], /--log-level must be one of/],
    [['serve', '--id', 'n1', '--listen', '127.0.0.1:1', '--data', scratch, '--insecure', '--log-format', 'xml'], /--log-format must be auto, json or pretty, got 'xml'/],
    [['serve', '--id', 'n1', '--listen', '127.0.0.1:1', '--data', scratch, '--insecure', '--metrics-listen', '9100'], /--metrics-listen must be host:port, got '9100'/],
    [['serve', '--id', 'n1', '--listen', '127.0.0.1:1', '--data', scratch, '--insecure', '--metrics-listen', '127.0.0.1:99999'], /--metrics-listen must be host:port/],
    [['serve', '--id', 'n1', '--listen', '127.0.0.1:1', '--data', scratch, '--insecure', '--metrics-listen'], /--metrics-listen/],
    [['cluster', 'down'], /synod cluster up/],
    [['cluster', 'up', '--nodes', '12'], /--nodes must be between 1 and 9/],
    [['kv', 'put', 'k', '--endpoints', '127.0.0.1:1', '--insecure'], /kv put takes KEY VALUE/],
    [['kv', 'fetch', 'k', '--endpoints', '127.0.0.1:1', '--insecure'], /must be put, get, del or cas/],
    [['kv', 'get', 'k', '--insecure'], /--endpoints is required/],
    [['kv', 'cas', 'k', 'v', '--endpoints', '127.0.0.1:1', '--insecure'], /exactly one of --expect/],
    [['status', '--endpoints', 'x', '--insecure'], /--endpoints must be host:port/],
    [['serve', '--transport', 'nats', '--id', 'n1', '--data', scratch], /--nats-url is required/],
    [['serve', '--transport', 'nats', '--nats-url', 'nowhere', '--id', 'n1', '--data', scratch], /--nats-url entries must look like nats:\/\//],
    [['serve', '--transport', 'nats', '--nats-url', 'nats://127.0.0.1:1', '--id', 'n1', '--data', scratch, '--listen', '127.0.0.1:1'], /--listen does not apply/],
    [['serve', '--transport', 'nats', '--nats-url', 'nats://127.0.0.1:1', '--id', 'n1', '--data', scratch, '--peers', 'n1,n2'], /must not list this node's own id/],
    [['serve', '--transport', 'nats', '--nats-url', 'nats://127.0.0.1:1', '--id', 'n1', '--data', scratch, '--nats-user', 'u'], /both --nats-user and --nats-password/],
    [['serve', '--id', 'n1', '--listen', '127.0.0.1:1', '--data', scratch, '--insecure', '--nats-url', 'nats://127.0.0.1:1'], /--nats-url needs --transport nats/],
    [['serve', '--transport', 'pigeon', '--id', 'n1', '--data', scratch], /--transport must be grpc or nats/],
    [['cluster', 'up', '--nats-url', 'nats://127.0.0.1:1'], /--nats-url needs --transport nats/],
    [['kv', 'get', 'k', '--nats-url', 'nats://127.0.0.1:1', '--endpoints', '127.0.0.1:1'], /--endpoints \(gRPC\) or --nats-url \(NATS\), not both/],
    [['chaos', '--nodes', '4'], /--nodes must be 3 or 5/],
    [['chaos', '--transport', 'carrier-pigeon'], /--transport must be grpc or nats, got 'carrier-pigeon'/],
    [['serve', '--id', 'n1', '--listen', '127.0.0.1:1', '--data', scratch, '--insecure', '--join=yes'], /--join/],
    [['chaos', '--faults', 'meteor'], /unknown kind 'meteor'/],
    [['serve', '--id', 'n1', '--listen', '127.0.0.1:1', '--data', scratch, '--insecure', '--fault-hooks=yes'], /--fault-hooks/],
  ])('%j exits 64 with a message', async (args, message) => {
    const { io, err } = capture();
    expect(await main(args, io)).toBe(64);
    expect(err.join('\n')).toMatch(message);
    expect(err.join('\n')).not.toMatch(/\n\s+at /);
  });

  it('a missing TLS file exits 66 naming the flag and the file', async () => {
    for (const args of [
      ['serve', '--id', 'n1', '--listen', '127.0.0.1:1', '--data', scratch, '--tls-cert', join(scratch, 'no.crt'), '--tls-key', 'k', '--tls-ca', 'c'],
      ['kv', 'get', 'k', '--endpoints', '127.0.0.1:1', '--tls-ca', join(scratch, 'ca.crt')],
    ]) {
      const { io, err } = capture();
      expect(await main(args, io)).toBe(66);
      expect(err.join('\n')).toMatch(/--tls-(cert|ca) .*: no such file/);
    }
  });

  it('every new command answers --help with its usage', async () => {
    for (const command of [['serve'], ['cluster'], ['kv'], ['status'], ['chaos']]) {
      const { io, out } = capture();
      expect(await main([...command, '--help'], io)).toBe(0);
      expect(out.join('\n')).toMatch(/usage: synod (serve|cluster up|kv|status|chaos)/);
    }
  });

  it('serve --help documents --fault-hooks as for demos and tests only, off by default', async () => {
    const { io, out } = capture();
    expect(await main(['serve', '--help'], io)).toBe(0);
    const help = out.join('\n');
    expect(help).toMatch(/for demos and fault-injection tests only:\n {2}--fault-hooks/);
    expect(help).toMatch(/Off by\s+default; without it that call fails with\s+FAILED_PRECONDITION/);
  });
});
