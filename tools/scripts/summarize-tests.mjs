#!/usr/bin/env node
// Adds up the vitest JSON reports of every project and prints one closing
// line, "tests: N passed, M failed". Exits 1 when a test failed or when no
// test ran at all, so an empty run can never pass as green.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

let passed = 0;
let failed = 0;
let skipped = 0;
let reports = 0;
for (const group of ['packages', 'apps', 'tools']) {
  if (!existsSync(group)) continue;
  for (const project of readdirSync(group)) {
    const report = join(group, project, 'test-results', 'vitest.json');
    if (!existsSync(report)) continue;
    const data = JSON.parse(readFileSync(report, 'utf8'));
    reports++;
    passed += data.numPassedTests ?? 0;
    failed += data.numFailedTests ?? 0;
    skipped += (data.numPendingTests ?? 0) + (data.numTodoTests ?? 0);
  }
}
console.log(`projects with tests: ${reports}`);
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
