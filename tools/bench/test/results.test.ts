import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { machineFacts, quantile, writeReport } from '../src/results.js';

describe('bench results', () => {
  it('takes quantiles as the smallest value covering the fraction', () => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(quantile(sorted, 0.5)).toBe(5);
    expect(quantile(sorted, 0.99)).toBe(10);
    expect(quantile(sorted, 0)).toBe(1);
    expect(quantile([], 0.5)).toBe(0);
  });

  it('writes the JSON shape DESIGN.md fixes, and a markdown table beside it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'synod-bench-'));
    const path = writeReport(dir, {
      suite: 'unit',
      machine: machineFacts(),
      results: [{ system: 's', scenario: 'x', clients: 4, opsPerSec: 1234.5, p50Ms: 1.5, p99Ms: 9.25 }],
    });
    const json = JSON.parse(readFileSync(path, 'utf8')) as { suite: string; machine: { cpus: number }; results: unknown[] };
    expect(json.suite).toBe('unit');
    expect(json.machine.cpus).toBeGreaterThan(0);
    expect(json.results).toEqual([{ system: 's', scenario: 'x', clients: 4, opsPerSec: 1234.5, p50Ms: 1.5, p99Ms: 9.25 }]);
    expect(readFileSync(join(dir, 'unit.md'), 'utf8')).toContain('| s | x | 4 | 1235 | 1.50 | 9.25 |');
  });
});
