import { describe, expect, it } from 'vitest';
import { StartupProgress } from '../src/server/startup-progress.js';

const ERASE = '\r\x1b[2K';

describe('cluster start-up progress', () => {
  it('on a terminal draws serving nodes and the leader, then prints one ready line', () => {
    let clock = 0;
    const transcript: string[] = [];
    const io = { stdout: (line: string) => transcript.push(`${line}\n`), stderr: (line: string) => transcript.push(`${line}\n`), terminal: { isTTY: true, write: (text: string) => transcript.push(text) } };
    const startup = new StartupProgress(io, ['n1', 'n2'], 'synod cluster', { now: () => clock });
    clock = 400;
    startup.io.stdout('[n1] synod serve: n1 serving cluster ...');
    startup.observe('n1', 'synod serve: n1 serving cluster ...');
    clock = 900;
    startup.observe('n2', '{"level":30,"node":"n2","term":1,"msg":"became leader"}');
    expect(startup.ready).toBe(false);
    clock = 1_250;
    startup.observe('n2', 'synod serve: n2 serving cluster ...');
    expect(startup.ready).toBe(true);
    startup.observe('n1', 'later lines change nothing');
    expect(transcript).toEqual([
      `${ERASE}starting 2 nodes: 0/2 serving, no leader yet, 0.0s`,
      ERASE,
      '[n1] synod serve: n1 serving cluster ...\n',
      `${ERASE}starting 2 nodes: 1/2 serving, no leader yet, 0.4s`,
      `${ERASE}starting 2 nodes: 1/2 serving, leader n2, 0.9s`,
      ERASE,
      'synod cluster: ready: 2/2 nodes serving, leader n2 (term 1), after 1.3 s\n',
    ]);
  });

  it('reads the term of a pretty record too, and draws nothing when not on a terminal', () => {
    const out: string[] = [];
    const written: string[] = [];
    const startup = new StartupProgress({ stdout: (line) => out.push(line), stderr: () => undefined, terminal: { isTTY: false, write: (t) => written.push(t) } }, ['n1'], 'synod demo', { now: () => 0 });
    startup.observe('n1', '[12:00:01.000] INFO: n1: became leader {"term":4}');
    startup.observe('n1', 'synod serve: n1 serving cluster');
    expect(written).toEqual([]);
    expect(out).toEqual(['synod demo: ready: 1/1 nodes serving, leader n1 (term 4), after 0.0 s']);
  });
});
