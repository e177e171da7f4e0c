import { describe, expect, it } from 'vitest';
import { replayCommand, runSimCommand } from '../../src/cli/sim-command.js';

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runSimCommand(argv, { stdout: (s) => out.push(s), stderr: (s) => err.push(s) });
  return { code, out, err };
}

describe('synod sim --algorithm paxos', () => {
  it('runs Multi-Paxos seeds with the same last line as Raft', async () => {
    const { code, out } = await run(['--algorithm', 'paxos', '--seeds', '2', '--nodes', '3', '--steps', '600']);
    expect(code).toBe(0);
    expect(out.at(-2)).toMatch(/^paxos, 3 nodes, 600 steps per seed, \d+ slots chosen, 0 failing seeds/);
    expect(out.at(-1)).toBe('seeds: 2, violations: 0');
  });

  it('runs on FileStorage with --storage file', async () => {
    const { code, out } = await run(['--algorithm', 'paxos', '--seeds', '1', '--nodes', '3', '--steps', '600', '--storage', 'file']);
    expect(code).toBe(0);
    expect(out.at(-2)).toMatch(/FileStorage on simulated disks/);
    expect(out.at(-1)).toBe('seeds: 1, violations: 0');
  });

  it('runs membership changes with --membership', async () => {
    const { code, out } = await run(['--algorithm', 'paxos', '--seeds', '2', '--nodes', '3', '--steps', '1500', '--membership']);
    expect(code).toBe(0);
    expect(out.at(-2)).toMatch(/^paxos, 3 nodes \(of 9, \d+ membership changes\)/);
    expect(out.at(-1)).toBe('seeds: 2, violations: 0');
  });

  it('replays a failing seed with --algorithm paxos', () => {
    expect(replayCommand({ algorithm: 'paxos', seeds: 9, firstSeed: 0, nodes: 5, steps: 1000, membership: false, storage: 'memory' }, 3)).toBe(
      'pnpm synod sim --algorithm paxos --seeds 1 --first-seed 3 --nodes 5 --steps 1000',
    );
  });
});
