import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { algorithmFlag } from '../src/server/algorithm-flag.js';

function capture(): { io: { stdout: (l: string) => void; stderr: (l: string) => void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (l) => out.push(l), stderr: (l) => err.push(l) }, out, err };
}

const scratch = mkdtempSync(join(tmpdir(), 'synod-algorithm-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('--algorithm of serve and cluster up', () => {
  it('defaults to raft and takes paxos', () => {
    expect(algorithmFlag(undefined)).toBe('raft');
    expect(algorithmFlag('raft')).toBe('raft');
    expect(algorithmFlag('paxos')).toBe('paxos');
  });

  it.each([
    [['serve', '--id', 'n1', '--listen', '127.0.0.1:1', '--data', scratch, '--insecure', '--algorithm', 'zab'], /--algorithm must be raft or paxos, got 'zab'/],
    [['serve', '--id', 'n1', '--listen', '127.0.0.1:1', '--data', scratch, '--insecure', '--algorithm', ''], /--algorithm must be raft or paxos, got ''/],
    [['serve', '--id', 'n1', '--listen', '127.0.0.1:1', '--data', scratch, '--insecure', '--algorithm', 'Paxos'], /--algorithm must be raft or paxos, got 'Paxos'/],
    [['serve', '--id', 'n1', '--listen', '127.0.0.1:1', '--data', scratch, '--insecure', '--algorithm', 'paxos', '--lease-reads'], /--lease-reads is a Raft option/],
    [['serve', '--id', 'n1', '--listen', '127.0.0.1:1', '--data', scratch, '--insecure', '--algorithm', 'paxos', '--commit-notice', 'broadcast'], /--commit-notice is a Raft option/],
    [['serve', '--id', 'n1', '--listen', '127.0.0.1:1', '--data', scratch, '--insecure', '--commit-notice', 'later'], /--commit-notice must be piggyback or broadcast, got 'later'/],
    [['serve', '--transport', 'nats', '--nats-url', 'nats://127.0.0.1:1', '--id', 'n1', '--data', scratch, '--algorithm', 'multipaxos'], /--algorithm must be raft or paxos/],
    [['cluster', 'up', '--algorithm', 'zab'], /--algorithm must be raft or paxos, got 'zab'/],
  ])('%j exits 64 with a message', async (args, message) => {
    const { io, err } = capture();
    expect(await main(args, io)).toBe(64);
    expect(err.join('\n')).toMatch(message);
    expect(err.join('\n')).not.toMatch(/\n\s+at /);
  });

  it('serve and cluster up list --algorithm in their help', async () => {
    for (const command of [['serve'], ['cluster']]) {
      const { io, out } = capture();
      expect(await main([...command, '--help'], io)).toBe(0);
      expect(out.join('\n')).toMatch(/--algorithm/);
    }
  });
});
