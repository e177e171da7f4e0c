import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { parseDemoArgs } from '../src/demo/run-demo.js';

function capture(): { io: { stdout: (l: string) => void; stderr: (l: string) => void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (l) => out.push(l), stderr: (l) => err.push(l) }, out, err };
}

describe('synod demo flags', () => {
  it('has the documented defaults', () => {
    expect(parseDemoArgs([])).toEqual({ port: 7070, transport: 'memory', nodes: 5, algorithm: 'raft', seed: 1, workload: true, durationS: undefined, chaos: false });
  });

  it('reads every flag', () => {
    expect(
      parseDemoArgs(['--port', '0', '--nodes', '3', '--algorithm', 'paxos', '--transport', 'memory', '--seed', '42', '--no-workload', '--duration', '30', '--chaos']),
    ).toEqual({ port: 0, transport: 'memory', nodes: 3, algorithm: 'paxos', seed: 42, workload: false, durationS: 30, chaos: true });
    expect(parseDemoArgs(['--transport', 'grpc'])).toMatchObject({ transport: 'grpc', algorithm: 'raft' });
    expect(parseDemoArgs(['--transport', 'nats', '--nodes', '3'])).toMatchObject({ transport: 'nats', nodes: 3 });
    // Real Multi-Paxos processes: serve --algorithm paxos.
    expect(parseDemoArgs(['--transport', 'grpc', '--algorithm', 'paxos'])).toMatchObject({ transport: 'grpc', algorithm: 'paxos' });
    expect(parseDemoArgs(['--transport', 'nats', '--algorithm', 'paxos'])).toMatchObject({ transport: 'nats', algorithm: 'paxos' });
    expect(parseDemoArgs(['--help'])).toBe('help');
    expect(parseDemoArgs(['-h'])).toBe('help');
  });

  const bad: [string[], RegExp][] = [
    [['--port', 'http'], /--port must be a whole number/],
    [['--port', '70000'], /--port must be between 0 and 65535/],
    [['--port'], /argument missing|requires|Option '--port/i],
    [['--nodes', '0'], /--nodes must be between 1 and 9/],
    [['--nodes', '10'], /--nodes must be between 1 and 9/],
    [['--nodes', 'three'], /--nodes must be a whole number/],
    [['--algorithm', 'zab'], /--algorithm must be raft or paxos, got 'zab'/],
    [['--transport', 'grpc', '--algorithm', 'Paxos'], /--algorithm must be raft or paxos, got 'Paxos'/],
    [['--transport', 'grpc', '--algorithm'], /argument missing|Option '--algorithm/i],
    [['--transport', 'GRPC'], /--transport must be memory, grpc or nats, got 'GRPC'/],
    [['--transport'], /argument missing|Option '--transport/i],
    [['--transport', 'udp'], /--transport must be memory, grpc or nats, got 'udp'/],
    [['--seed', '-1'], /--seed must be a whole number|argument missing|ambiguous/i],
    [['--seed', 'abc'], /--seed must be a whole number/],
    [['--duration', '0'], /--duration must be between 1 and 86400/],
    [['--duration', '1.5'], /--duration must be a whole number/],
    [['--no-workload=yes'], /does not take an argument/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['extra'], /Unexpected argument 'extra'/],
  ];
  for (const [args, message] of bad) {
    it(`refuses ${args.join(' ')} with exit code 64, the reason and the usage, no stack trace`, async () => {
      const { io, out, err } = capture();
      expect(await main(['demo', ...args], io)).toBe(64);
      expect(out).toEqual([]);
      expect(err[0]).toMatch(message);
      expect(err.at(-1)).toMatch(/^usage: synod demo /);
      expect(err.join('\n')).not.toMatch(/\n\s+at /);
    });
  }
});

describe('synod demo runs', () => {
  it('prints the address, runs for --duration and reports what it did', async () => {
    const { io, out } = capture();
    expect(await main(['demo', '--port', '0', '--nodes', '3', '--seed', '3', '--duration', '2'], io)).toBe(0);
    expect(out[0]).toBe('Synod demo: 3 Raft nodes on the in-memory transport, seed 3');
    expect(out[1]).toMatch(/^dashboard: http:\/\/127\.0\.0\.1:\d+$/);
    expect(out.at(-1)).toMatch(/^done: [1-9]\d* operations ok, .* recent history (linearizable|unknown)$/);
  }, 20_000);

  it('runs Multi-Paxos with --algorithm paxos', async () => {
    const { io, out } = capture();
    expect(await main(['demo', '--port', '0', '--nodes', '3', '--algorithm', 'paxos', '--duration', '2'], io)).toBe(0);
    expect(out[0]).toMatch(/3 Multi-Paxos nodes/);
    expect(out.at(-1)).toMatch(/^done: [1-9]\d* operations ok/);
  }, 20_000);

  it('--no-workload starts no clients', async () => {
    const { io, out } = capture();
    expect(await main(['demo', '--port', '0', '--nodes', '1', '--no-workload', '--duration', '1'], io)).toBe(0);
    expect(out.at(-1)).toMatch(/^done: 0 operations ok, 0 failed or unknown/);
  }, 20_000);

  it('says so and exits 1 when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { io, err } = capture();
      expect(await main(['demo', '--port', String(port), '--duration', '1'], io)).toBe(1);
      expect(err[0]).toMatch(new RegExp(`cannot serve the dashboard on 127.0.0.1:${port}: .*EADDRINUSE`));
    } finally {
      blocker.close();
    }
  });
});
