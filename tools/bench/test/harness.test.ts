import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { machineFacts, measureFdatasync, writeReport } from '../src/results.js';
import { realFailoverSuite } from '../src/suites/failover.js';
import { runKvLoad, type KvSystem } from '../src/suites/kv-load.js';
import { writeSummary } from '../src/summary.js';
import { ensureEtcd, startEtcdCluster } from '../src/systems/etcd.js';
import { startSynodCluster } from '../src/systems/synod.js';

// CI's check that the side-by-side harness works end to end: real etcd and
// `synod serve` processes, the shared load generator, the failover loop and
// the report writers, on a tiny run (a fraction of `--quick`). It asserts
// that the harness produces well-formed rows, never how fast anything is.
// etcd comes from Debian's etcd-server, which tools/scripts/ensure-system-deps.sh
// installs for the test suite; without it the etcd half is skipped and says so.

const etcd = (() => {
  try {
    return ensureEtcd();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
})();
const etcdMissing = typeof etcd === 'string';
if (etcdMissing) process.stderr.write(`harness test: skipping the etcd half: ${etcd}\n`);

const out = mkdtempSync(join(tmpdir(), 'synod-bench-harness-test-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('side-by-side harness (tiny run)', { timeout: 120_000 }, () => {
  it('measures fdatasync of the data directory for the machine facts', () => {
    const latency = measureFdatasync(tmpdir(), 5);
    expect(latency.samples).toBe(5);
    expect(latency.p50Ms).toBeGreaterThan(0);
    expect(machineFacts(latency).fdatasync).toEqual(latency);
  });

  it('drives etcd and synod serve with one load generator and puts the ratios in the synod rows', async () => {
    const systems: KvSystem[] = [
      ...(etcdMissing ? [] : [{ suite: 'etcd', start: (dir: string) => startEtcdCluster(dir) }]),
      { suite: 'kv-grpc', start: (dir: string) => startSynodCluster(dir) },
    ];
    const results = await runKvLoad(systems, { clients: [1, 4], mixes: ['put', 'put-get'], warmupMs: 200, runMs: 300, runs: 1 }, () => undefined);
    for (const system of systems) {
      const rows = results.get(system.suite)!;
      expect(rows.map((row) => `${row.scenario}/${row.clients}`)).toEqual([
        'put 100%/1',
        'put 100%/4',
        'put 50% / linearizable get 50%/1',
        'put 50% / linearizable get 50%/4',
      ]);
      for (const row of rows) {
        expect(row.operations).toBeGreaterThan(0);
        expect(row.p99Ms).toBeGreaterThanOrEqual(row.p50Ms);
        writeReport(out, { suite: system.suite, machine: machineFacts(), results: rows });
      }
    }
    if (!etcdMissing) {
      for (const row of results.get('kv-grpc')!) {
        expect(row['ratioTo']).toBe('etcd');
        expect(row['throughputRatio']).toBeGreaterThan(0);
      }
    }
  });

  it('times a leader kill to the first acknowledged put on both systems, and writes the summary', async () => {
    const rows = await realFailoverSuite(
      [
        ...(etcdMissing ? [] : [{ system: 'etcd', scenario: 'election timeout 1000 ms', start: (dir: string) => startEtcdCluster(dir) }]),
        { system: 'synod', scenario: 'election timeout 10 ticks', start: (dir: string) => startSynodCluster(dir) },
      ],
      { kills: 1, steadyMs: 200 },
      () => undefined,
    );
    for (const row of rows) {
      expect(row['kills']).toBe(1);
      // An election timeout is at least 1 s on both systems.
      expect(row.p50Ms).toBeGreaterThan(900);
    }
    writeReport(out, { suite: 'failover', machine: machineFacts(), results: rows });
    const summary = readFileSync(writeSummary(out), 'utf8');
    expect(summary).toContain('put 100%');
    expect(summary).toContain('Leader failover on real processes');
    expect(readFileSync(join(out, 'failover-cdf.svg'), 'utf8')).toMatch(/^<svg/);
  });
});
