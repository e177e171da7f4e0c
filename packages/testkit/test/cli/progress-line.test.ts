import { describe, expect, it } from 'vitest';
import { formatRemaining, ProgressLine } from '../../src/cli/progress-line.js';
import { SeedProgress } from '../../src/cli/seed-progress.js';
import { runSimCommand } from '../../src/cli/sim-command.js';

const ERASE = '\r\x1b[2K';

/** A fake terminal: everything written, and a transcript shared with the command's lines. */
function terminal(isTTY: boolean, columns = 200): { stream: { isTTY: boolean; columns: number; write: (t: string) => boolean }; writes: string[] } {
  const writes: string[] = [];
  return { stream: { isTTY, columns, write: (text) => (writes.push(text), true) }, writes };
}

describe('ProgressLine', () => {
  it('writes nothing when the stream is not a terminal, or absent', () => {
    const { stream, writes } = terminal(false);
    for (const line of [new ProgressLine(stream), new ProgressLine(undefined)]) {
      line.update('working', true);
      line.clear();
      expect(line.active).toBe(false);
    }
    expect(writes).toEqual([]);
  });

  it('on a terminal redraws in place, at most once per interval, cut to the width, and erases itself', () => {
    let clock = 0;
    const { stream, writes } = terminal(true, 21);
    const line = new ProgressLine(stream, { minIntervalMs: 100, now: () => clock });
    line.update('first');
    clock = 50;
    line.update('skipped: too soon');
    clock = 150;
    line.update('a line much longer than twenty columns');
    line.clear();
    line.clear();
    expect(writes).toEqual([`${ERASE}first`, `${ERASE}a line much longer …`, ERASE]);
  });

  it('around() erases the line before a normal line is printed', () => {
    const { stream, writes } = terminal(true);
    const line = new ProgressLine(stream);
    const print = line.around((text) => writes.push(`${text}\n`));
    line.update('3/10 seeds');
    print('seed 3: violation');
    expect(writes).toEqual([`${ERASE}3/10 seeds`, ERASE, 'seed 3: violation\n']);
  });

  it('formats the time left briefly', () => {
    expect(formatRemaining(7_400)).toBe('7s');
    expect(formatRemaining(83_000)).toBe('1m23s');
    expect(formatRemaining(-5)).toBe('0s');
  });
});

describe('synod sim progress', () => {
  it('shows seeds done, violations so far and the time left at the pace so far', () => {
    let clock = 0;
    const { stream, writes } = terminal(true);
    const progress = new SeedProgress({ stdout: () => undefined, stderr: () => undefined, terminal: stream }, 'raft', 4, { minIntervalMs: 0, now: () => clock });
    clock = 2_000;
    progress.seedDone(0);
    clock = 4_000;
    progress.seedDone(3);
    progress.finish();
    expect(writes).toEqual([
      `${ERASE}sim raft: 0/4 seeds, 0 violations so far, 0s elapsed, estimating time left`,
      `${ERASE}sim raft: 1/4 seeds, 0 violations so far, 2s elapsed, about 6s left`,
      `${ERASE}sim raft: 2/4 seeds, 3 violations so far, 4s elapsed, about 4s left`,
      ERASE,
    ]);
  });

  it('draws on a terminal and erases itself before the summary; prints the same lines and nothing else when not a terminal', async () => {
    const args = ['--algorithm', 'raft', '--seeds', '2', '--nodes', '3', '--steps', '300'];
    const tty = terminal(true);
    const ttyOut: string[] = [];
    expect(await runSimCommand(args, { stdout: (line) => (ttyOut.push(line), tty.writes.push(`${line}\n`)), stderr: () => undefined, terminal: tty.stream })).toBe(0);
    expect(tty.writes[0]).toBe(`${ERASE}sim raft: 0/2 seeds, 0 violations so far, 0s elapsed, estimating time left`);
    expect(tty.writes.some((text) => text.startsWith(`${ERASE}sim raft: 2/2 seeds, 0 violations so far`))).toBe(true);
    expect(tty.writes.slice(-3)).toEqual([ERASE, expect.stringMatching(/^raft, 3 nodes/), 'seeds: 2, violations: 0\n']);

    const pipe = terminal(false);
    const pipeOut: string[] = [];
    expect(await runSimCommand(args, { stdout: (line) => pipeOut.push(line), stderr: () => undefined, terminal: pipe.stream })).toBe(0);
    expect(pipe.writes).toEqual([]);
    expect(pipeOut.at(-1)).toBe('seeds: 2, violations: 0');
    expect(pipeOut.length).toBe(ttyOut.length);
  });
});
