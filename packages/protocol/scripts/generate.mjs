#!/usr/bin/env node
// Regenerates src/gen from proto/ with buf and the local ts-proto plugin (no
// network). `--out DIR` generates into DIR/src/gen instead, which the
// staleness test uses to compare against the committed code.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(packageDir, 'package.json'));

/** Resolves the bin of a package installed in this workspace. */
function binOf(pkg, bin) {
  const manifestPath = require.resolve(`${pkg}/package.json`);
  const manifest = require(manifestPath);
  const rel = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin[bin];
  return join(dirname(manifestPath), rel);
}

const args = process.argv.slice(2);
const subcommand = args[0] === 'lint' ? 'lint' : 'generate';
const outIndex = args.indexOf('--out');
const outDir = outIndex >= 0 ? args[outIndex + 1] : undefined;

const buf = binOf('@bufbuild/buf', 'buf');
const tsProtoBinDir = dirname(binOf('ts-proto', 'protoc-gen-ts_proto'));
const env = { ...process.env, PATH: `${tsProtoBinDir}:${process.env.PATH ?? ''}` };
const bufArgs = subcommand === 'lint' ? ['lint'] : ['generate', ...(outDir ? ['-o', outDir] : [])];
const result = spawnSync(process.execPath, [buf, ...bufArgs], { cwd: packageDir, env, stdio: 'inherit' });
process.exit(result.status ?? 1);
