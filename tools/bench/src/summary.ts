import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChart } from './charts.js';
import { describeMachine, type BenchResult, type SuiteReport } from './results.js';

/** The suites whose rows the load generator writes, in the order the summary shows them (the baseline first). */
export const KV_SUITES = ['etcd', 'kv-grpc', 'kv-nats'] as const;

function read(outDir: string, suite: string): SuiteReport | undefined {
  const path = join(outDir, `${suite}.json`);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as SuiteReport;
  } catch {
    return undefined;
  }
}

const num = (value: unknown): string => (typeof value === 'number' ? (Number.isInteger(value) ? String(value) : value.toFixed(2)) : '—');
const ms = (value: number): string => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
const range = (row: BenchResult, field: string, format: (v: number) => string): string => {
  const lo = row[`${field}Min`];
  const hi = row[`${field}Max`];
  return typeof lo === 'number' && typeof hi === 'number' ? ` (${format(lo)}–${format(hi)})` : '';
};

/**
 * Writes `summary.md` and its charts from the reports in `outDir`: the
 * KV suites side by side (etcd first, then each Synod transport, with the
 * ratios each row carries from its run), and the real-process failover
 * suite. Ratios are printed only where the rows were measured in the same
 * run; rows from different runs are shown without them. Returns the path.
 */
export function writeSummary(outDir: string): string {
  const lines: string[] = ['# Synod and etcd, side by side', ''];
  const charts: Record<string, string> = {};
  const kv = KV_SUITES.map((suite) => ({ suite, report: read(outDir, suite) })).filter((entry) => entry.report !== undefined) as { suite: string; report: SuiteReport }[];
  if (kv.length > 0) {
    lines.push(
      'Three members of each system on loopback, each with its own data directory and fsync on; one Node.js load generator',
      '(`src/suites/kv-load.ts`) with the same settings for every system: 256-byte values over 10,000 keys, closed-loop clients',
      'with one request in flight each, all talking to the leader. A row is the median of the timed runs after a warm-up, with',
      'the min–max of the runs in brackets. Ratios are Synod ÷ etcd at the same clients and mix, measured in the same run',
      '(`pnpm bench etcd kv-grpc`); throughput above 1 and p99 below 1 favour Synod. The load average is the machine\'s 1-minute',
      'load when the point started: this 2-core machine is shared, and every figure moves with it.',
      '',
      `Machine: ${describeMachine(kv[0]!.report.machine)}.`,
      '',
    );
    // Rows of another Synod suite count here only when they were measured beside etcd (their ratios are to etcd);
    // a suite run on its own keeps its figures in its own report.
    const rows: (BenchResult & { suite: string })[] = kv.flatMap((entry) =>
      entry.report.results.filter((row) => entry.suite === 'etcd' || entry.suite === 'kv-grpc' || row['ratioTo'] === 'etcd').map((row) => ({ ...row, suite: entry.suite })),
    );
    const scenarios = [...new Set(rows.map((row) => row.scenario))];
    for (const scenario of scenarios) {
      const at = rows.filter((row) => row.scenario === scenario);
      lines.push(`## ${scenario}`, '', '| clients | system | ops/s | p50 ms | p99 ms | throughput ÷ etcd | p50 ÷ etcd | p99 ÷ etcd | leader CPU ms/op | load |', '|---|---|---|---|---|---|---|---|---|---|');
      const clientCounts = [...new Set(at.map((row) => row.clients))].sort((a, b) => a - b);
      for (const clients of clientCounts) {
        for (const row of at.filter((r) => r.clients === clients)) {
          lines.push(
            `| ${clients} | ${row.suite === 'etcd' ? `etcd ${String(row['version'] ?? '')}` : `synod (${row.suite})`} | ${Math.round(row.opsPerSec)}${range(row, 'opsPerSec', (v) => String(Math.round(v)))} | ${ms(row.p50Ms)}${range(row, 'p50Ms', ms)} | ${ms(row.p99Ms)}${range(row, 'p99Ms', ms)} | ${num(row['throughputRatio'])} | ${num(row['p50Ratio'])} | ${num(row['p99Ratio'])} | ${num(row['leaderCpuMsPerOp'])} | ${num(row['loadAverage1m'])} |`,
          );
        }
      }
      lines.push('');
      const slug = scenario.startsWith('put 100') ? 'put' : 'put-get';
      const series = (field: 'opsPerSec' | 'p50Ms' | 'p99Ms', suffix = ''): { name: string; points: [number, number][] }[] =>
        kv.map((entry) => ({
          name: `${entry.suite === 'etcd' ? 'etcd' : `synod ${entry.suite}`}${suffix}`,
          points: at.filter((row) => row.suite === entry.suite).map((row) => [row.clients, row[field]] as [number, number]),
        }));
      charts[`kv-throughput-${slug}.svg`] = lineChart({ title: `Throughput, ${scenario}`, xLabel: 'concurrent clients', yLabel: 'operations/s', logX: true, series: series('opsPerSec') });
      charts[`kv-latency-${slug}.svg`] = lineChart({
        title: `Latency, ${scenario}`,
        xLabel: 'concurrent clients',
        yLabel: 'ms',
        logX: true,
        series: [...series('p50Ms', ' p50'), ...series('p99Ms', ' p99')],
      });
      lines.push(`![throughput](kv-throughput-${slug}.svg) ![latency](kv-latency-${slug}.svg)`, '');
    }
  }
  const failover = read(outDir, 'failover');
  if (failover !== undefined) {
    lines.push(
      '## Leader failover on real processes',
      '',
      'SIGKILL of the leader of three members, timed from the kill to the first put the cluster acknowledges, seen by a client that',
      'retries on the two survivors with a 10 ms pause (each attempt has a 250 ms deadline). The killed member restarts on its data',
      'directory and rejoins before the next kill. etcd runs with heartbeat 100 ms and election timeout 1,000 ms; Synod with 100 ms',
      'ticks and a 10-tick election timeout (randomized in [1 s, 2 s)), alone or with detector-assisted elections (`synod serve',
      '--election-detector phi|swim`, with the default or a 400 ms `--leader-pause-ms`). A follower fails the puts it forwarded',
      'to a lost leader at once (outcome unknown), so the client retries on the new leader as soon as there is one; etcd\'s',
      'followers let such a put wait for its deadline. The virtual-time failover figures are the separate `failover-sim` suite.',
      '',
      `Machine: ${describeMachine(failover.machine)}.`,
      '',
      '| system | elections | kills | median ms | p99 ms | min–max ms | mean ms | median ÷ etcd | load |',
      '|---|---|---|---|---|---|---|---|---|',
      ...failover.results.filter((row) => Array.isArray(row['samplesMs'])).map(
        (row) =>
          `| ${row.system} | ${row.scenario} | ${num(row['kills'])} | ${ms(row.p50Ms)} | ${ms(row.p99Ms)} | ${num(row['minMs'])}–${num(row['maxMs'])} | ${num(row['meanMs'])} | ${num(row['medianRatio'])} | ${num(row['loadAverage1m'])} |`,
      ),
      '',
      '![failover CDF](failover-cdf.svg)',
      '',
    );
    const pauses = failover.results.filter((row) => typeof row['leaderChanges'] === 'number');
    if (pauses.length > 0) {
      lines.push(
        '### Leader pauses (`--scenario pauses`)',
        '',
        'The leader is stopped (SIGSTOP) for 300 ms and continued (SIGCONT) at a fixed interval in an otherwise healthy cluster; every',
        'change of leader is spurious.',
        '',
        '| system | scenario | run s | pauses | leader changes | load |',
        '|---|---|---|---|---|---|',
        ...pauses.map((row) => `| ${row.system} | ${row.scenario} | ${num(Number(row['runMs']) / 1000)} | ${num(row['pauses'])} | ${num(row['leaderChanges'])} | ${num(row['loadAverage1m'])} |`),
        '',
      );
    }
    charts['failover-cdf.svg'] = lineChart({
      title: 'Leader failover: kill → first acknowledged put (CDF)',
      xLabel: 'ms after SIGKILL',
      yLabel: 'fraction of kills',
      xTicks: 'round',
      series: failover.results.filter((row) => Array.isArray(row['samplesMs'])).map((row) => {
        const samples = [...((row['samplesMs'] as number[] | undefined) ?? [])].sort((a, b) => a - b);
        return { name: `${row.system} ${row.scenario}`, points: samples.map((x, i) => [x, (i + 1) / samples.length] as [number, number]) };
      }),
    });
  }
  lines.push('How to reproduce and what each suite measures: [../README.md](../README.md).', '');
  for (const [name, svg] of Object.entries(charts)) writeFileSync(join(outDir, name), svg);
  const path = join(outDir, 'summary.md');
  writeFileSync(path, lines.join('\n'));
  return path;
}
