import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * Child processes in these tests need FileStorage as plain JavaScript, and a
 * clean clone runs tests before any build. So the test transpiles the core
 * sources itself: `ts.transpileModule` per file (no type check, no bundling;
 * about a second for the whole package), into a temp directory that is an
 * ESM package. Relative imports already end in `.js`, so the output runs in
 * plain `node` unchanged.
 */

const coreSrc = fileURLToPath(new URL('../../../src/', import.meta.url));

/** The child script, run as `node crash-child.mjs <file-storage.js> <dir> <mode> [seed]`. */
export const childScript = fileURLToPath(new URL('./fixtures/crash-child.mjs', import.meta.url));

/** Transpiles packages/core/src into `outDir` and returns the path of the built file-storage.js. */
export function buildCoreForChild(outDir: string): string {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
      d.isDirectory() ? walk(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
    );
  for (const file of walk(coreSrc)) {
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, isolatedModules: true },
    });
    const target = join(outDir, relative(coreSrc, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  }
  writeFileSync(join(outDir, 'package.json'), '{ "type": "module" }\n');
  return join(outDir, 'storage', 'file', 'file-storage.js');
}

/** The data of the workload's entry at (index, term); the child computes the same bytes. */
export function workloadPayload(index: number, term: number): Uint8Array {
  const bytes = new Uint8Array(16 + ((index * 7) % 200));
  for (let k = 0; k < bytes.length; k++) bytes[k] = (index * 31 + term * 17 + k) & 0xff;
  return bytes;
}
