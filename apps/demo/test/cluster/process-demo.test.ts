import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { startDashboard, type DashboardServer } from '../../src/demo/dashboard-server.js';
import type { DashboardFrame } from '../../src/demo/dashboard-types.js';
import { ProcessDemoCluster, sentMessages } from '../../src/demo/process-demo-cluster.js';

/**
 * `synod demo --transport grpc|nats`: three real `synod serve` processes
 * driven through the same dashboard API as the in-process demo. A leader is
 * elected, crashing it (SIGKILL) leads to a new one, the controls that need
 * fault hooks answer 400 with the reason, and the workload's history stays
 * linearizable.
 */

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.each(['grpc', 'nats'] as const)('the demo over %s', (transport) => {
  let cluster: ProcessDemoCluster;
  let dashboard: DashboardServer;
  const lines: string[] = [];

  const status = async (): Promise<DashboardFrame> => (await (await fetch(`${dashboard.url}/api/status`)).json()) as DashboardFrame;
  const post = async (path: string, body: unknown = {}): Promise<{ status: number; body: { ok?: boolean; error?: string } }> => {
    const response = await fetch(`${dashboard.url}/api/${path}`, { method: 'POST', body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as { ok?: boolean; error?: string } };
  };

  beforeAll(async () => {
    cluster = await ProcessDemoCluster.start({ transport, nodes: 3, seed: 7, io: { stdout: (l) => lines.push(l), stderr: (l) => lines.push(l) } });
    dashboard = await startDashboard(cluster, { port: 0 });
  }, 120_000);

  afterAll(async () => {
    await dashboard?.close();
    await cluster?.stop();
  }, 30_000);

  it('elects a leader, shows every node, SWIM and traffic, and says which controls it lacks', async () => {
    expect(lines.some((line) => /^synod demo: ready: 3\/3 nodes serving, leader n[1-3]/.test(line))).toBe(true);
    cluster.startWorkload();
    const frame = await waitFor('traffic, phi and a full SWIM view', 30_000, async () => {
      const f = await status();
      const full = f.swim.filter((s) => s.state === 'alive').length === 9;
      return f.leader !== undefined && f.links.some((l) => l.perSecond > 0) && f.phi.length > 0 && full && f.workload.ok > 0 ? f : undefined;
    });
    expect(frame.transport).toBe(transport);
    expect(frame.nodes.map((n) => [n.id, n.health])).toEqual([
      ['n1', 'up'],
      ['n2', 'up'],
      ['n3', 'up'],
    ]);
    const leader = frame.nodes.find((n) => n.id === frame.leader)!;
    expect(leader.role).toBe('leader');
    expect(leader.commitIndex).toBeGreaterThan(0);
    expect(frame.nodes.every((n) => n.leader === frame.leader)).toBe(true);
    expect(Object.keys(frame.unavailable).sort()).toEqual(['add', 'heal', 'isolate', 'link', 'partition', 'remove']);
    const refused = await post('partition', { groups: [['n1']] });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(/no fault hooks/);
    expect((await post('link/drop', { a: 'n1', b: 'n2' })).status).toBe(400);
  }, 120_000);

  it('crashing the leader (SIGKILL) leads to a new leader; the crashed node restarts and follows', async () => {
    const before = await status();
    const old = before.leader!;
    const crashed = await post(`crash/${old}`);
    expect(crashed).toEqual({ status: 200, body: { ok: true } });
    const after = await waitFor('a new leader', 30_000, async () => {
      const f = await status();
      return f.leader !== undefined && f.leader !== old ? f : undefined;
    });
    expect(after.nodes.find((n) => n.id === old)!.health).toBe('down');
    expect(after.nodes.find((n) => n.id === after.leader)!.term).toBeGreaterThan(before.nodes.find((n) => n.id === old)!.term);
    expect(after.timeline.some((entry) => entry.text === `${old} crashed (SIGKILL)`)).toBe(true);

    expect((await post(`restart/${old}`)).status).toBe(200);
    await waitFor(`${old} following again`, 30_000, async () => {
      const f = await status();
      const node = f.nodes.find((n) => n.id === old)!;
      return node.health === 'up' && node.role === 'follower' && node.leader === f.leader ? true : undefined;
    });
  }, 120_000);

  it('pauses a node with SIGSTOP and moves leadership with TransferLeadership; the history stays linearizable', async () => {
    const frame = await status();
    const follower = frame.nodes.find((n) => n.role === 'follower')!.id;
    expect((await post(`pause/${follower}`, { ms: 500 })).status).toBe(200);
    expect((await status()).nodes.find((n) => n.id === follower)!.health).toBe('paused');
    await waitFor(`${follower} resumed`, 10_000, async () => ((await status()).nodes.find((n) => n.id === follower)!.health === 'up' ? true : undefined));

    const target = frame.nodes.find((n) => n.id !== frame.leader && n.id !== follower)?.id ?? follower;
    const moved = await waitFor('a leadership transfer', 30_000, async () => ((await post(`transfer/${target}`)).status === 200 ? true : undefined));
    expect(moved).toBe(true);
    await waitFor(`${target} leading`, 10_000, async () => ((await status()).leader === target ? true : undefined));

    await cluster.checkRecentWindow(5_000);
    expect(['linearizable', 'unknown']).toContain((await status()).verdict.verdict);
  }, 120_000);
});

describe('synod demo --transport grpc from the command line', () => {
  it('starts the processes, prints the address, runs --chaos (crash and restart of the leader) for --duration and stops them', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['demo', '--transport', 'grpc', '--port', '0', '--nodes', '3', '--duration', '9', '--chaos'], { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out).toContain('Synod demo: 3 Raft nodes as synod serve processes over gRPC, seed 1');
    expect(out.some((line) => /^dashboard: http:\/\/127\.0\.0\.1:\d+$/.test(line))).toBe(true);
    expect(out.some((line) => /^chaos: crashing leader n[1-3]$/.test(line))).toBe(true);
    expect(out.some((line) => /^chaos: restarting n[1-3]$/.test(line))).toBe(true);
    expect(out.at(-1)).toMatch(/^done: \d+ operations ok, .* recent history (linearizable|unknown|pending)$/);
  }, 90_000);
});

describe('sentMessages', () => {
  it('reads the per-peer message counters of a metrics page', () => {
    const text = ['# TYPE synod_transport_sent_messages_total counter', 'synod_transport_sent_messages_total{peer="n2"} 120', 'synod_transport_sent_messages_total{peer="n3"} 7', 'synod_transport_sent_bytes_total{peer="n2"} 9000'].join('\n');
    expect([...sentMessages(text)]).toEqual([
      ['n2', 120],
      ['n3', 7],
    ]);
  });
});
