import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CHECK_HISTORY_EXIT, detectHistoryFormat, runCheckHistory, type CheckHistoryIo } from '../../src/cli/check-history.js';
import {
  HistoryRecorder,
  kvCodec,
  overlappingWritesThenStaleRead,
  registerCodec,
  serializeHistoryJsonl,
  type KvInput,
  type KvOutput,
} from '../../src/history/index.js';

const fixtures = fileURLToPath(new URL('../fixtures/porcupine/', import.meta.url));
const jepsen = (n: string): string => join(fixtures, 'jepsen', `etcd_${n}.log`);
const kv = (name: string): string => join(fixtures, 'kv', name);

interface Run {
  readonly code: number;
  readonly out: string[];
  readonly err: string[];
  readonly written: Map<string, string>;
}

async function run(argv: string[], extra: Partial<CheckHistoryIo> = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const written = new Map<string, string>();
  const code = await runCheckHistory(argv, {
    stdout: (s) => out.push(s),
    stderr: (s) => err.push(s),
    writeFile: async (path, data) => {
      written.set(path, data);
    },
    ...extra,
  });
  return { code, out, err, written };
}

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'check-history-'));
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('synod check-history on real fixture files', () => {
  it.each([
    [jepsen('002'), 'linearizable', 0],
    [jepsen('000'), 'not linearizable', 1],
    [kv('c10-ok.txt'), 'linearizable', 0],
    [kv('c50-bad.txt'), 'not linearizable', 1],
  ])('%s -> %s (exit %i)', async (file, last, code) => {
    const r = await run([file]);
    expect(r.err).toEqual([]);
    expect(r.out.at(-1)).toBe(last);
    expect(r.code).toBe(code);
  });

  it('names the failing operation and writes the report', async () => {
    const r = await run([jepsen('000'), '--model', 'register', '--format=jepsen', '--report', 'out.html']);
    expect(r.code).toBe(1);
    expect(r.out.join('\n')).toMatch(/history: not linearizable at op \d+ \(client \d+: read -> \d\); longest linearizable prefix \d+ of \d+/);
    expect(r.out).toContain('report written to out.html');
    expect(r.written.get('out.html')).toContain('op-failed');
  });

  it('reports unknown with exit 2 when the time budget runs out', async () => {
    let t = 0;
    // A clock that jumps a second per reading: any budget runs out at once.
    const r = await run([kv('c50-ok.txt'), '--timeout', '0.5'], { now: () => (t += 1000) });
    expect(r.out.at(-1)).toBe('unknown');
    expect(r.code).toBe(CHECK_HISTORY_EXIT.unknown);
    expect(r.out.join('\n')).toContain('unknown (timeout)');
    expect(r.out.at(-2)).toMatch(/^unknown: stopped by the time limit \(0\.5 s\) on \d+ of 10 partitions; .*; raise --timeout$/);
  });

  it('reports unknown with exit 2 when the memory budget runs out, and says so on the line before', async () => {
    const path = tempFile('hard.jsonl', serializeHistoryJsonl(overlappingWritesThenStaleRead(22), { codec: registerCodec, model: 'register' }));
    const r = await run([path, '--max-memory', '2MiB']);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(CHECK_HISTORY_EXIT.unknown);
    expect(r.out.at(-1)).toBe('unknown');
    expect(r.out.at(-2)).toMatch(
      /^unknown: stopped by the memory budget \(2\.0 MiB\); longest linearizable prefix \d+ of 23 operations; [\d,]+ configurations explored, peak memory .*; raise --max-memory$/,
    );
    expect(r.out.join('\n')).toMatch(/history: unknown \(memory-budget\) after \d+ configurations/);
  });

  it('reads synod JSON-lines histories and takes the model from the header', async () => {
    let t = 0;
    const rec = new HistoryRecorder<KvInput, KvOutput>({ clock: () => t++ });
    rec.ok(rec.invoke('c1', { f: 'put', key: 'a', value: '1' }), { f: 'put' });
    rec.ok(rec.invoke('c2', { f: 'get', key: 'a' }), { f: 'get', value: null });
    const path = tempFile('history.jsonl', rec.toJsonl(kvCodec, 'kv'));
    const r = await run([path]);
    expect(r.out.at(-1)).toBe('not linearizable');
    expect(r.out.join('\n')).toContain('key "a": not linearizable at op 1 (client c2: get a -> nil)');
    expect(r.code).toBe(1);

    const counter = tempFile(
      'counter.jsonl',
      [
        '{"type":"header","format":"synod-history","version":1,"model":"counter"}',
        '{"type":"invoke","id":0,"client":"a","time":0,"input":{"f":"add","delta":2}}',
        '{"type":"ok","id":0,"client":"a","time":1,"output":{"f":"add"}}',
        '{"type":"invoke","id":1,"client":"a","time":2,"input":{"f":"read"}}',
        '{"type":"ok","id":1,"client":"a","time":3,"output":{"f":"read","value":2}}',
      ].join('\n'),
    );
    expect((await run([counter])).code).toBe(0);
  });
});

describe('synod check-history usage and input errors', () => {
  it.each([
    [[], /missing FILE/],
    [['a', 'b'], /expected one FILE/],
    [['f', '--model', 'graph'], /--model must be one of kv, register, counter, got 'graph'/],
    [['f', '--format', 'csv'], /--format must be one of/],
    [['f', '--timeout', 'soon'], /--timeout must be a positive number/],
    [['f', '--timeout', '-1'], /--timeout must be a positive number/],
    [['f', '--timeout'], /--timeout needs a value/],
    [['f', '--report', '--timeout', '1'], /--report needs a value/],
    [['f', '--frobnicate'], /unknown option '--frobnicate'/],
    [['f', '--max-memory', 'lots'], /--max-memory must be a size such as 512MiB or 2GiB, got 'lots'/],
    [['f', '--max-memory', '0'], /--max-memory must be a size/],
    [['f', '--max-memory'], /--max-memory needs a value/],
  ])('%j exits 64 with a clear message', async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(CHECK_HISTORY_EXIT.usage);
    expect(r.err[0]).toMatch(message);
    expect(r.err[0]).toMatch(/^check-history: /);
    expect(r.err.join('\n')).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.out).toEqual([]);
  });

  it('rejects a model that does not fit the format', async () => {
    const r = await run([jepsen('000'), '--model', 'kv']);
    expect(r.code).toBe(64);
    expect(r.err).toEqual(['check-history: jepsen histories are cas-register histories; use --model register, not kv']);
  });

  it('exits 66 when the file cannot be read', async () => {
    const r = await run(['/nonexistent/history.log']);
    expect(r.code).toBe(CHECK_HISTORY_EXIT.noInput);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/^check-history: cannot read \/nonexistent\/history\.log: ENOENT/);
  });

  it('exits 65 naming the line of a malformed history', async () => {
    const path = tempFile('bad.log', 'INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:write\t1\n');
    const r = await run([path]);
    expect(r.code).toBe(CHECK_HISTORY_EXIT.dataError);
    expect(r.err).toEqual([`check-history: ${path}:2: :ok :write does not match the :read invoked on line 1`]);
  });

  it('exits 65 when the format cannot be told', async () => {
    const r = await run([tempFile('mystery.dat', 'hello\n')]);
    expect(r.code).toBe(65);
    expect(r.err[0]).toMatch(/pass --format/);
  });

  it('exits 73 when the report cannot be written', async () => {
    const r = await run([jepsen('000'), '--report', '/nonexistent/dir/r.html'], {
      writeFile: () => Promise.reject(Object.assign(new Error('no such directory'), { code: 'ENOENT' })),
    });
    expect(r.code).toBe(CHECK_HISTORY_EXIT.cantCreate);
    expect(r.err[0]).toBe('check-history: cannot write report /nonexistent/dir/r.html: ENOENT: no such directory');
  });

  it('prints usage for --help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(/^usage: synod check-history FILE/);
  });

  it('writes a real report file by default', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'check-history-'));
    const out = join(dir, 'r.html');
    const code = await runCheckHistory([kv('c01-bad.txt'), '--report', out], { stdout: () => undefined, stderr: () => undefined });
    expect(code).toBe(1);
    expect(readFileSync(out, 'utf8')).toContain('<!doctype html>');
  });
});

describe('detectHistoryFormat', () => {
  it('looks at the content first, then the extension', () => {
    expect(detectHistoryFormat('x.txt', 'INFO  jepsen.util - 3\t:invoke\t:write\t4')).toBe('jepsen');
    expect(detectHistoryFormat('x.log', '{:process 0, :type :invoke}')).toBe('edn-kv');
    expect(detectHistoryFormat('x', '\n{"type":"header"}')).toBe('jsonl');
    expect(detectHistoryFormat('x.jsonl', '')).toBe('jsonl');
    expect(detectHistoryFormat('x.dat', 'hello')).toBeUndefined();
  });
});
