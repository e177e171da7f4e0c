import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const packageDir = resolve(import.meta.dirname, '..');
const script = join(packageDir, 'scripts', 'generate.mjs');

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

describe('protocol pipeline', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'synod-gen-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('committed generated code matches what buf generates from the .proto sources', () => {
    const run = spawnSync(process.execPath, [script, '--out', scratch], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const committedDir = join(packageDir, 'src', 'gen');
    const freshDir = join(scratch, 'src', 'gen');
    const committed = listFiles(committedDir).map((f) => relative(committedDir, f)).sort();
    const fresh = listFiles(freshDir).map((f) => relative(freshDir, f)).sort();
    expect(committed, 'generated file list is stale: run `pnpm generate`').toEqual(fresh);
    for (const file of fresh) {
      const same = readFileSync(join(committedDir, file), 'utf8') === readFileSync(join(freshDir, file), 'utf8');
      expect(same, `src/gen/${file} is stale: run \`pnpm generate\``).toBe(true);
    }
  });

  it('the .proto sources pass buf lint', () => {
    const run = spawnSync(process.execPath, [script, 'lint'], { encoding: 'utf8' });
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
