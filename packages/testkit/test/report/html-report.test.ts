import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HistoryRecorder, parseJepsenHistory, type KvInput, type KvOutput } from '../../src/history/index.js';
import { checkLinearizability, kvModel, registerModel } from '../../src/linearizability/index.js';
import { escapeHtml, renderHtmlReport } from '../../src/report/index.js';

function staleReadHistory(): HistoryRecorder<KvInput, KvOutput> {
  let t = 0;
  const r = new HistoryRecorder<KvInput, KvOutput>({ clock: () => (t += 1) });
  r.ok(r.invoke('alice', { f: 'put', key: 'good', value: 'v' }), { f: 'put' });
  r.ok(r.invoke('alice', { f: 'put', key: 'bad', value: '<script>alert(1)</script>' }), { f: 'put' });
  r.ok(r.invoke('bob', { f: 'put', key: 'bad', value: '2' }), { f: 'put' });
  r.invoke('carol', { f: 'put', key: 'bad', value: 'open & "quoted"' }); // never completes
  r.ok(r.invoke('bob', { f: 'get', key: 'bad' }), { f: 'get', value: '<script>alert(1)</script>' });
  r.ok(r.invoke('<b>eve</b>', { f: 'get', key: 'good' }), { f: 'get', value: 'v' });
  return r;
}

describe('renderHtmlReport', () => {
  const result = checkLinearizability(kvModel, staleReadHistory().history(), { checkAllPartitions: true });
  const html = renderHtmlReport(kvModel, result, { title: 'stale <read>' });

  it('is one self-contained page with no external assets', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/https?:/);
    expect(html).not.toMatch(/src=/);
    expect(html).not.toMatch(/<link\b/);
    expect(html).toContain('<style>');
    expect(html).toContain('<svg');
  });

  it('has a section per key, the failing one first', () => {
    expect(html).toContain('id="partition-0"');
    expect(html).toContain('id="partition-1"');
    expect(html.indexOf('Key &quot;bad&quot;')).toBeGreaterThan(0);
    expect(html.indexOf('Key &quot;bad&quot;')).toBeLessThan(html.indexOf('Key &quot;good&quot;'));
  });

  it('marks the failing operation, the prefix and the open operation', () => {
    const failed = result.partitions.find((p) => p.key === 'bad')?.failure?.opId;
    expect(failed).toBe(4);
    expect(html).toMatch(new RegExp(`class="op op-failed" data-op="${failed}"`));
    expect(html).toContain('Linearization becomes impossible at op 4');
    expect(html).toContain('linearization impossible');
    expect(html).toMatch(/class="op op-prefix" data-op="1"/);
    expect(html).toMatch(/op-open" data-op="3"/);
    expect(html).toContain('Longest linearizable prefix');
    expect(html).toContain('A linearization (witness)');
  });

  it('escapes every string that comes from the history', () => {
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<b>eve</b>');
    expect(html).not.toContain('<read>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;b&gt;eve&lt;/b&gt;');
    // Exactly one script element: ours.
    expect(html.match(/<script>/g)).toHaveLength(1);
  });

  it('can leave out linearizable partitions', () => {
    const only = renderHtmlReport(kvModel, result, { partitions: 'not-linearizable' });
    expect(only).not.toContain('Key &quot;good&quot;');
  });

  it('renders a real failing Jepsen history', () => {
    const path = fileURLToPath(new URL('../fixtures/porcupine/jepsen/etcd_000.log', import.meta.url));
    const r = checkLinearizability(registerModel, parseJepsenHistory(readFileSync(path, 'utf8')));
    const page = renderHtmlReport(registerModel, r);
    expect(r.verdict).toBe('not-linearizable');
    expect(page).toContain('op-failed');
    expect(page).toContain('(whole history)');
    expect(page).not.toMatch(/https?:|src=/);
  });
});

describe('escapeHtml', () => {
  it('escapes markup and quotes', () => {
    expect(escapeHtml(`<a href='x'>"&"</a>`)).toBe('&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;');
  });
});
