import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseEdnKvHistory, parseJepsenHistory } from '../../src/history/index.js';
import { checkLinearizability, porcupineKvModel, registerModel } from '../../src/linearizability/index.js';

const fixtures = fileURLToPath(new URL('../fixtures/porcupine/', import.meta.url));

/** Anything slower than this is worth a look (and a line in the test log). */
const SLOW_MS = 3000;

const verdicts = readFileSync(join(fixtures, 'jepsen', 'VERDICTS.txt'), 'utf8')
  .trim()
  .split('\n')
  .map((line) => line.trim().split(/\s+/) as [string, string]);

describe('Porcupine fixtures: Jepsen etcd cas-register histories', () => {
  it('has a verdict for every log file', () => {
    const logs = readdirSync(join(fixtures, 'jepsen')).filter((f) => f.endsWith('.log'));
    expect(verdicts.map(([f]) => f).sort()).toEqual(logs.sort());
  });

  it.each(verdicts)('%s is %s', (file, expected) => {
    const history = parseJepsenHistory(readFileSync(join(fixtures, 'jepsen', file), 'utf8'));
    const result = checkLinearizability(registerModel, history);
    expect(result.verdict).toBe(expected);
    if (result.elapsedMs > SLOW_MS) console.warn(`slow fixture: ${file} took ${result.elapsedMs.toFixed(0)} ms`);
    expect(result.elapsedMs).toBeLessThan(20_000);
  });
});

describe('Porcupine fixtures: kv histories (get/put/append)', () => {
  const files = readdirSync(join(fixtures, 'kv')).sort();

  it.each(files)('%s', (file) => {
    const history = parseEdnKvHistory(readFileSync(join(fixtures, 'kv', file), 'utf8'));
    const result = checkLinearizability(porcupineKvModel, history);
    const expected = file.endsWith('-ok.txt') ? 'linearizable' : 'not-linearizable';
    console.info(`fixture ${file}: ${result.verdict} in ${result.elapsedMs.toFixed(1)} ms, ${result.partitions.length} keys`);
    expect(result.verdict).toBe(expected);
    if (expected === 'not-linearizable') {
      const failed = result.partitions.find((p) => p.verdict === 'not-linearizable');
      expect(failed?.failure).toBeDefined();
    }
    expect(result.elapsedMs).toBeLessThan(20_000);
  });
});
