import { describe, expect, it, vi } from 'vitest';

// A simulation that throws (a bug in the library or the simulator) must be
// reported like a violation, with its replay command, and not end the run.
vi.mock('../../src/simulator/raft-simulation.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/simulator/raft-simulation.js')>();
  return {
    ...actual,
    simulateRaft: async (options: Parameters<typeof actual.simulateRaft>[0]) => {
      if (options.seed === 2) throw new RangeError('log index 20 is not available yet');
      return actual.simulateRaft(options);
    },
  };
});

const { runSimCommand } = await import('../../src/cli/sim-command.js');

describe('synod sim when a simulation throws', () => {
  it('reports the seed with a replay command, runs the other seeds and exits 1', async () => {
    const out: string[] = [];
    const code = await runSimCommand(['--algorithm', 'raft', '--seeds', '3', '--first-seed', '1', '--nodes', '3', '--steps', '300'], {
      stdout: (line) => out.push(line),
      stderr: (line) => out.push(line),
    });
    expect(code).toBe(1);
    expect(out).toContain('seed 2: the simulation threw RangeError: log index 20 is not available yet');
    expect(out).toContain('  replay: pnpm synod sim --algorithm raft --seeds 1 --first-seed 2 --nodes 3 --steps 300');
    expect(out.at(-1)).toBe('seeds: 3, violations: 1');
  });
});
