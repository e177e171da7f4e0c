import { describe, expect, it } from 'vitest';
import { EXIT_USAGE } from '../../src/cli/cli-io.js';
import { replayCommand, runSimCommand } from '../../src/cli/sim-command.js';

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runSimCommand(argv, { stdout: (s) => out.push(s), stderr: (s) => err.push(s) });
  return { code, out, err };
}

describe('synod sim --storage', () => {
  it('runs FileStorage on simulated disks and says so in the summary', async () => {
    const { code, out } = await run(['--algorithm', 'raft', '--seeds', '2', '--nodes', '3', '--steps', '800', '--storage', 'file']);
    expect(code).toBe(0);
    expect(out.at(-2)).toMatch(/FileStorage on simulated disks \(\d+ crash recoveries, \d+ torn tails cut\)/);
    expect(out.at(-1)).toBe('seeds: 2, violations: 0');
  });

  it('refuses an unknown storage mode with a usage error', async () => {
    const { code, err } = await run(['--algorithm', 'raft', '--seeds', '1', '--storage', 'disk']);
    expect(code).toBe(EXIT_USAGE);
    expect(err[0]).toBe("--storage must be memory or file, got 'disk'");
  });

  it('puts every flag that changes the run into the replay command of a failing seed', () => {
    const args = { seeds: 500, firstSeed: 0, nodes: 3, steps: 2500, membership: false, storage: 'file' } as const;
    expect(replayCommand(args, 42)).toBe(
      'pnpm synod sim --algorithm raft --seeds 1 --first-seed 42 --nodes 3 --steps 2500 --storage file',
    );
    expect(replayCommand({ ...args, membership: true, storage: 'memory' }, 7)).toBe(
      'pnpm synod sim --algorithm raft --seeds 1 --first-seed 7 --nodes 3 --steps 2500 --membership',
    );
  });
});
