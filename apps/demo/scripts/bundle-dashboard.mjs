#!/usr/bin/env node
// Bundles the dashboard page (src/demo/page, with uPlot and its styles) into
// dist/dashboard/app.js and app.css at build time, so `synod demo` serves
// everything itself: no CDN, works offline. Run by the build through nx.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await build({
  entryPoints: [join(root, 'src/demo/page/main.ts')],
  outfile: join(root, 'dist/dashboard/app.js'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  legalComments: 'inline',
  logLevel: 'warning',
});
