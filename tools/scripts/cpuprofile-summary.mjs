#!/usr/bin/env node
// Usage: node tools/scripts/cpuprofile-summary.mjs FILE.cpuprofile [--top N] [--by-file]
// Sums a V8 CPU profile (node --cpu-prof) by function: self time (samples
// taken in the function itself) and total time (samples with the function
// anywhere on the stack), both as a share of the samples in which the
// process was busy.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const args = process.argv.slice(2);
const file = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--top');
const topIndex = args.indexOf('--top');
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 30;
// --by-file: self time per source file (the VM's own entries, like the
// garbage collector, stay as they are).
const byFile = args.includes('--by-file');
if (file === undefined) {
  process.stderr.write('usage: cpuprofile-summary.mjs FILE.cpuprofile [--top N] [--by-file]\n');
  process.exit(64);
}

const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);

const label = (n) => {
  const { functionName, url, lineNumber } = n.callFrame;
  if (byFile) return url ? basename(url) : functionName;
  const where = url ? `${basename(url)}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'} ${where}`.trim();
};

const samplesPerNode = new Map();
for (const id of profile.samples) samplesPerNode.set(id, (samplesPerNode.get(id) ?? 0) + 1);
// Idle samples (the event loop waiting) say nothing about where CPU goes:
// shares are of busy samples only.
const idleIds = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
const idle = profile.samples.filter((id) => idleIds.has(id)).length;
const total = profile.samples.length - idle;

const self = new Map();
const inclusive = new Map();
for (const [id, count] of samplesPerNode) {
  if (idleIds.has(id)) continue;
  const name = label(nodes.get(id));
  self.set(name, (self.get(name) ?? 0) + count);
  // Count each function once per stack, however deep the recursion.
  const onStack = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) onStack.add(label(nodes.get(at)));
  for (const fn of onStack) inclusive.set(fn, (inclusive.get(fn) ?? 0) + count);
}

const pct = (n) => `${((100 * n) / total).toFixed(1).padStart(5)}%`;
process.stdout.write(`${total} busy samples (${idle} idle left out)\n\n  self   total  function\n`);
for (const [name, count] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  process.stdout.write(`${pct(count)} ${pct(inclusive.get(name))}  ${name}\n`);
}
