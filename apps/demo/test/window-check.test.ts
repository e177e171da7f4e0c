import type { History, KvInput, KvOutput } from '@synod/testkit';
import { describe, expect, it } from 'vitest';
import { runCheckJob, WindowChecker as SourceChecker } from '../src/demo/window-check.js';

/** A put of 1 that completed before a read that returned 2: no order explains it. */
const staleRead: History<KvInput, KvOutput> = [
  { type: 'invoke', id: 0, client: 'c0', time: 0, input: { f: 'put', key: 'e1-k0', value: '1' } },
  { type: 'ok', id: 0, client: 'c0', time: 1, output: { f: 'put' } },
  { type: 'invoke', id: 1, client: 'c1', time: 2, input: { f: 'get', key: 'e1-k0' } },
  { type: 'ok', id: 1, client: 'c1', time: 3, output: { f: 'get', value: '2' } },
];
const fine: History<KvInput, KvOutput> = [...staleRead.slice(0, 3), { type: 'ok', id: 1, client: 'c1', time: 3, output: { f: 'get', value: '1' } }];

describe('the checker behind the verdict', () => {
  it('says not-linearizable for a read of a value never written, and linearizable otherwise', () => {
    expect(runCheckJob({ kind: 'window', history: staleRead, timeoutMs: 5000 })).toMatchObject({ verdict: 'not-linearizable', operations: 2 });
    expect(runCheckJob({ kind: 'window', history: fine, timeoutMs: 5000 })).toMatchObject({ verdict: 'linearizable', operations: 2 });
  });

  it("renders the testkit's HTML report with the failing key", () => {
    const html = runCheckJob({ kind: 'report', history: staleRead, timeoutMs: 5000, title: 'run' });
    expect(typeof html).toBe('string');
    expect(html).toContain('e1-k0');
    expect(html).toContain('run (not-linearizable, 2 operations)');
  });

  it('gives the same answers from the worker thread of the built package', async () => {
    // The built module finds its compiled worker next to it; from source it checks inline.
    const { WindowChecker } = (await import('../dist/demo/window-check.js')) as { WindowChecker: typeof SourceChecker };
    const checker = new WindowChecker();
    try {
      expect(await checker.check(staleRead, 5000)).toMatchObject({ verdict: 'not-linearizable' });
      expect(await checker.check(fine, 5000)).toMatchObject({ verdict: 'linearizable' });
      expect(await checker.report(fine, 5000, 'whole')).toContain('whole (linearizable, 2 operations)');
    } finally {
      await checker.close();
    }
  });
});
