import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';

function capture(): { io: { stdout: (l: string) => void; stderr: (l: string) => void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (l) => out.push(l), stderr: (l) => err.push(l) }, out, err };
}

const fixtures = resolve(import.meta.dirname, '../../../packages/testkit/test/fixtures/porcupine');

describe('synod CLI', () => {
  it('sim: runs the seeds and ends with the contract line', async () => {
    const { io, out } = capture();
    const code = await main(['sim', '--algorithm', 'raft', '--seeds', '3', '--first-seed', '5', '--nodes', '3', '--steps', '1500'], io);
    expect(code).toBe(0);
    expect(out.at(-1)).toBe('seeds: 3, violations: 0');
  });

  it('sim: rejects bad flags with exit code 64 and a message, not a stack trace', async () => {
    for (const args of [['sim', '--seeds', 'many'], ['sim', '--algorithm', 'zab', '--seeds', '1'], ['sim', '--bogus'], ['sim', '--seeds', '1', '--nodes', '12']]) {
      const { io, err } = capture();
      expect(await main(args, io)).toBe(64);
      expect(err.join('\n')).toMatch(/must|unknown|Unknown|required|not available/);
      expect(err.join('\n')).not.toMatch(/\n\s+at /);
    }
  });

  it('every command answers --help and -h with its usage and options on stdout, exit code 0', async () => {
    for (const command of ['demo', 'sim', 'check-history']) {
      for (const flag of ['--help', '-h']) {
        const { io, out, err } = capture();
        expect(await main([command, flag], io)).toBe(0);
        expect(out.join('\n')).toMatch(new RegExp(`usage: synod ${command} `));
        expect(err).toEqual([]);
      }
    }
    const { io, out } = capture();
    expect(await main(['sim', '--help'], io)).toBe(0);
    expect(out.join('\n')).toMatch(/--storage file/);
  });

  it('check-history: exits 0 for a linearizable and 1 for a non-linearizable history, with the verdict last', async () => {
    const verdicts = readFileSync(join(fixtures, 'jepsen', 'VERDICTS.txt'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/) as [string, string]);
    const good = verdicts.find(([, v]) => v === 'linearizable')![0];
    const bad = verdicts.find(([, v]) => v === 'not-linearizable')![0];
    const ok = capture();
    expect(await main(['check-history', join(fixtures, 'jepsen', good), '--model', 'register', '--format', 'jepsen'], ok.io)).toBe(0);
    expect(ok.out.at(-1)).toBe('linearizable');
    const notOk = capture();
    expect(await main(['check-history', join(fixtures, 'jepsen', bad), '--model', 'register', '--format', 'jepsen'], notOk.io)).toBe(1);
    expect(notOk.out.at(-1)).toBe('not linearizable');
  });

  it('check-history: writes a self-contained HTML report for a failing history', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'synod-cli-'));
    const history = join(dir, 'h.jsonl');
    writeFileSync(
      history,
      [
        '{"type":"invoke","id":0,"client":"a","time":0,"input":{"f":"put","key":"k","value":"1"}}',
        '{"type":"ok","id":0,"client":"a","time":1,"output":{"f":"put"}}',
        '{"type":"invoke","id":1,"client":"b","time":2,"input":{"f":"get","key":"k"}}',
        '{"type":"ok","id":1,"client":"b","time":3,"output":{"f":"get","value":null}}',
        '',
      ].join('\n'),
    );
    const report = join(dir, 'report.html');
    const { io, out } = capture();
    expect(await main(['check-history', history, '--model', 'kv', '--report', report], io)).toBe(1);
    expect(out.at(-1)).toBe('not linearizable');
    const html = readFileSync(report, 'utf8');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/src="http|href="http/);
  });

  it('unknown commands exit 64 with the help text', async () => {
    const { io, err } = capture();
    expect(await main(['frobnicate'], io)).toBe(64);
    expect(err[0]).toContain("unknown command 'frobnicate'");
  });
});
