#!/usr/bin/env node
// Usage: node tools/scripts/run-built.mjs PROJECT ENTRY [args…]
// Behind `pnpm synod …` and `pnpm bench …`: builds PROJECT and what it
// depends on through nx (an up-to-date build is a cache hit), then runs
// ENTRY with the remaining arguments. Build output shows only on failure.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const [project, entry, ...args] = process.argv.slice(2);
if (!project || !entry) {
  process.stderr.write('usage: run-built.mjs PROJECT ENTRY [args…]\n');
  process.exit(64);
}
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const nx = join(root, 'node_modules', 'nx', 'dist', 'bin', 'nx.js');
const build = spawnSync(process.execPath, [nx, 'run', `${project}:build`, '--output-style=static'], {
  cwd: root,
  encoding: 'utf8',
  env: { ...process.env, NX_TUI: 'false' },
});
if (build.status !== 0) {
  process.stderr.write(build.stdout ?? '');
  process.stderr.write(build.stderr ?? '');
  process.stderr.write(`building ${project} failed (output above)\n`);
  process.exit(build.status ?? 1);
}
const run = spawnSync(process.execPath, [join(root, entry), ...args], { stdio: 'inherit' });
process.exit(run.status ?? (run.signal ? 1 : 0));
