import { describe, expect, it } from 'vitest';
import { Progress } from '../src/progress.js';

const ERASE = '\r\x1b[2K';

describe('bench progress', () => {
  it('writes step lines only when the log is not a terminal', () => {
    const lines: string[] = [];
    const progress = new Progress(10_000, (line) => lines.push(line), { terminal: { isTTY: false, write: () => expect.fail('drew on a pipe') }, now: () => 0, redrawMs: 0 });
    progress.step('kv-grpc put clients=1 run 1/2', 5_000);
    progress.note('kv-grpc put clients=1: 400 ops/s');
    progress.finish();
    expect(lines).toEqual(['  [  0%] kv-grpc put clients=1 run 1/2 (about 10s left)', '         kv-grpc put clients=1: 400 ops/s']);
  });

  it('on a terminal ticks a live line through the current step below the log, and erases it at the end', () => {
    let clock = 0;
    const transcript: string[] = [];
    const progress = new Progress(10_000, (line) => transcript.push(`${line}\n`), { terminal: { isTTY: true, write: (text) => transcript.push(text) }, now: () => clock, redrawMs: 0 });
    progress.step('etcd put clients=16 run 1/2', 5_000);
    clock = 3_000;
    progress.redraw();
    clock = 5_000;
    progress.step('etcd put clients=16 run 2/2', 5_000);
    progress.finish();
    expect(transcript).toEqual([
      '  [  0%] etcd put clients=16 run 1/2 (about 10s left)\n',
      `${ERASE}  etcd put clients=16 run 1/2: 0s of 5s, about 10s left in all`,
      `${ERASE}  etcd put clients=16 run 1/2: 3s of 5s, about 7s left in all`,
      ERASE,
      '  [ 50%] etcd put clients=16 run 2/2 (about 5s left)\n',
      `${ERASE}  etcd put clients=16 run 2/2: 0s of 5s, about 5s left in all`,
      ERASE,
    ]);
  });
});
