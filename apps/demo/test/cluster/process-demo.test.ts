import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { startDashboard, type DashboardServer } from '../../src/demo/dashboard-server.js';
import type { DashboardFrame } from '../../src/demo/dashboard-types.js';
import { ProcessDemoCluster, sentMessages } from '../../src/demo/process-demo-cluster.js';

/**
 * `synod demo --transport grpc|nats`: three real `synod serve` processes
 * (with `--fault-hooks`) driven through the same dashboard API as the
 * in-process demo. A leader is elected; crashing it (SIGKILL) or cutting it
 * off (Cluster/SetLinkFaults on every node) leads to a new one, and after a
 * heal it follows again; links show cut and delayed; a member is added
 * (`serve --join`, AddMember) and removed; the workload's history stays
 * linearizable. Multi-Paxos runs on real processes too, without AddMember.
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

  it('elects a leader, shows every node with its snapshot index, SWIM and traffic, and offers every control', async () => {
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
    expect(frame.nodes.every((n) => n.snapshotIndex >= 0 && n.logLength >= 0 && n.snapshotIndex + n.logLength <= n.commitIndex + 1_000)).toBe(true);
    expect(frame.unavailable).toEqual({});
    expect(frame.links.every((l) => !l.cut && l.delayMs === 0)).toBe(true);
    // Bad requests are refused before any node is touched.
    expect((await post('partition', { groups: [['n1'], ['n1']] })).status).toBe(400);
    expect((await post('link/drop', { a: 'n1', b: 'n1' })).status).toBe(400);
    expect((await post('link/delay', { a: 'n1', b: 'n2', ms: -5 })).status).toBe(400);
    expect((await post('isolate/n9')).status).toBe(400);
  }, 120_000);

  it('cutting the leader off elects another; its links show cut; after a heal it follows the new leader', async () => {
    const before = await waitFor('a leader', 30_000, async () => {
      const f = await status();
      return f.leader !== undefined ? f : undefined;
    });
    const old = before.leader!;
    expect(await post(`isolate/${old}`)).toEqual({ status: 200, body: { ok: true } });
    const cut = await waitFor('a new leader', 30_000, async () => {
      const f = await status();
      return f.leader !== undefined && f.leader !== old ? f : undefined;
    });
    expect(cut.nodes.find((n) => n.id === old)!.health).toBe('isolated');
    const touching = (l: { from: string; to: string }): boolean => l.from === old || l.to === old;
    expect(cut.links.filter(touching).every((l) => l.cut)).toBe(true);
    expect(cut.links.filter((l) => !touching(l)).every((l) => !l.cut)).toBe(true);
    expect(cut.timeline.some((entry) => entry.text === `${old} cut off from the others`)).toBe(true);

    expect(await post('heal')).toEqual({ status: 200, body: { ok: true } });
    const healed = await waitFor(`${old} following again`, 30_000, async () => {
      const f = await status();
      const node = f.nodes.find((n) => n.id === old)!;
      return node.health === 'up' && node.role === 'follower' && f.leader !== undefined && node.leader === f.leader ? f : undefined;
    });
    expect(healed.links.every((l) => !l.cut)).toBe(true);
    expect(healed.timeline.some((entry) => entry.text === 'network healed')).toBe(true);
  }, 120_000);

  it('drops and delays single links and partitions, as the page draws them', async () => {
    expect((await post('link/drop', { a: 'n1', b: 'n2' })).status).toBe(200);
    expect((await post('link/delay', { a: 'n2', b: 'n3', ms: 150 })).status).toBe(200);
    let frame = await status();
    const link = (from: string, to: string) => frame.links.find((l) => l.from === from && l.to === to)!;
    expect([link('n1', 'n2').cut, link('n2', 'n1').cut, link('n1', 'n3').cut, link('n2', 'n3').cut]).toEqual([true, true, false, false]);
    expect([link('n2', 'n3').delayMs, link('n3', 'n2').delayMs, link('n1', 'n3').delayMs]).toEqual([150, 150, 0]);
    expect(frame.timeline.map((e) => e.text)).toEqual(expect.arrayContaining(['link n1 - n2 cut', 'link n2 - n3 delayed by 150 ms']));
    // Every node still reaches a majority: the cluster keeps serving.
    const committed = frame.nodes.map((n) => n.commitIndex);
    await waitFor('commits through the slow link', 20_000, async () => {
      const f = await status();
      return f.leader !== undefined && f.nodes.some((n, i) => n.commitIndex > committed[i]!) ? true : undefined;
    });

    expect((await post('partition', { groups: [['n1']] })).status).toBe(200);
    frame = await status();
    expect(frame.links.filter((l) => l.from === 'n1' || l.to === 'n1').every((l) => l.cut)).toBe(true);
    expect([link('n2', 'n3').cut, link('n2', 'n3').delayMs]).toEqual([false, 150]);
    expect(frame.timeline.some((e) => e.text === 'partition {n1} | {n2 n3}')).toBe(true);
    expect((await post('heal')).status).toBe(200);
    frame = await status();
    expect(frame.links.every((l) => !l.cut && l.delayMs === 0)).toBe(true);
  }, 120_000);

  it('adds a member (serve --join, AddMember) that catches up, then removes it and stops its process', async () => {
    await waitFor('a leader', 30_000, async () => ((await status()).leader !== undefined ? true : undefined));
    const added = await post('add');
    expect(added).toEqual({ status: 200, body: { ok: true, id: 'n4' } });
    const joined = await waitFor('n4 following with the others', 60_000, async () => {
      const f = await status();
      const n4 = f.nodes.find((n) => n.id === 'n4');
      return n4 !== undefined && n4.health === 'up' && n4.voter && n4.role === 'follower' && n4.leader === f.leader && n4.appliedIndex > 0 ? f : undefined;
    });
    expect(joined.links.filter((l) => l.from === 'n4' || l.to === 'n4')).toHaveLength(6);
    expect(joined.timeline.map((e) => e.text)).toEqual(expect.arrayContaining([expect.stringMatching(/^n4 started; asking n[1-3] to add it as a voter$/), 'n4 is a voter']));

    expect(await post('remove/n4')).toEqual({ status: 200, body: { ok: true } });
    const removed = await status();
    expect(removed.nodes.find((n) => n.id === 'n4')).toMatchObject({ health: 'removed', voter: false });
    expect(removed.links.some((l) => l.from === 'n4' || l.to === 'n4')).toBe(false);
    expect(removed.timeline.map((e) => e.text)).toEqual(expect.arrayContaining([expect.stringMatching(/^asking n[1-3] to remove n4$/), 'n4 removed from the voters and stopped']));
    expect((await post('crash/n4')).body.error).toMatch(/removed/);
    await waitFor('a configuration without n4', 20_000, async () => {
      const f = await status();
      return f.leader !== undefined && f.nodes.filter((n) => n.voter).map((n) => n.id).sort().join(',') === 'n1,n2,n3' ? true : undefined;
    });
  }, 150_000);

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

describe('the demo of Multi-Paxos processes over gRPC', () => {
  let cluster: ProcessDemoCluster;
  let dashboard: DashboardServer;

  const status = async (): Promise<DashboardFrame> => (await (await fetch(`${dashboard.url}/api/status`)).json()) as DashboardFrame;
  const post = async (path: string, body: unknown = {}): Promise<{ status: number; body: { ok?: boolean; error?: string } }> => {
    const response = await fetch(`${dashboard.url}/api/${path}`, { method: 'POST', body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as { ok?: boolean; error?: string } };
  };

  beforeAll(async () => {
    cluster = await ProcessDemoCluster.start({ transport: 'grpc', algorithm: 'paxos', nodes: 3, seed: 5, io: { stdout: () => undefined, stderr: () => undefined } });
    dashboard = await startDashboard(cluster, { port: 0 });
    cluster.startWorkload();
  }, 120_000);

  afterAll(async () => {
    await dashboard?.close();
    await cluster?.stop();
  }, 30_000);

  it('elects a leader, says why it cannot add a member, and elects another when the leader is cut off; after a heal it follows', async () => {
    const first = await waitFor('a leader and commits', 30_000, async () => {
      const f = await status();
      return f.leader !== undefined && f.workload.ok > 0 ? f : undefined;
    });
    expect(first.algorithm).toBe('paxos');
    expect(Object.keys(first.unavailable)).toEqual(['add']);
    expect(first.unavailable.add).toMatch(/Multi-Paxos replicates no member address/);
    const refused = await post('add');
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(/Multi-Paxos/);
    expect(first.timeline.some((e) => /elected leader \(ballot round \d+\)$/.test(e.text))).toBe(true);

    const old = first.leader!;
    expect((await post(`isolate/${old}`)).status).toBe(200);
    await waitFor('a new leader', 30_000, async () => {
      const f = await status();
      return f.leader !== undefined && f.leader !== old ? f : undefined;
    });
    expect((await post('heal')).status).toBe(200);
    // Multi-Paxos has no pre-vote: the old leader, which kept raising its
    // ballot while cut off, may well lead again. What matters is that all
    // three agree on one leader again.
    let last: DashboardFrame | undefined;
    await waitFor(`${old} back with the others`, 30_000, async () => {
      const f = (last = await status());
      return f.leader !== undefined && f.nodes.every((n) => n.health === 'up' && n.leader === f.leader) ? true : undefined;
    }).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}; last frame: ${JSON.stringify(last?.nodes)}`);
    });
    await cluster.checkRecentWindow(5_000);
    expect(['linearizable', 'unknown']).toContain((await status()).verdict.verdict);
  }, 120_000);

  it('removes a member through the Multi-Paxos leader and stops it; the other two keep committing', async () => {
    const frame = await status();
    const follower = frame.nodes.find((n) => n.id !== frame.leader && n.health === 'up')!.id;
    expect(await post(`remove/${follower}`)).toEqual({ status: 200, body: { ok: true } });
    expect((await status()).nodes.find((n) => n.id === follower)!.health).toBe('removed');
    const before = Math.max(...(await status()).nodes.map((n) => n.commitIndex));
    await waitFor('commits by the remaining two', 20_000, async () => {
      const f = await status();
      return f.leader !== undefined && Math.max(...f.nodes.map((n) => n.commitIndex)) > before ? true : undefined;
    });
  }, 60_000);
});

describe('synod demo with real processes from the command line', () => {
  it('runs Multi-Paxos processes with --algorithm paxos', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['demo', '--transport', 'grpc', '--algorithm', 'paxos', '--port', '0', '--nodes', '3', '--duration', '5'], { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out).toContain('Synod demo: 3 Multi-Paxos nodes as synod serve processes over gRPC, seed 1');
    expect(out.at(-1)).toMatch(/^done: [1-9]\d* operations ok, .* recent history (linearizable|unknown|pending)$/);
  }, 90_000);

  it('and over NATS with --transport nats --algorithm paxos', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['demo', '--transport', 'nats', '--algorithm', 'paxos', '--port', '0', '--nodes', '3', '--duration', '4'], { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out).toContain('Synod demo: 3 Multi-Paxos nodes as synod serve processes over NATS, seed 1');
    expect(out.at(-1)).toMatch(/^done: [1-9]\d* operations ok, .* recent history (linearizable|unknown|pending)$/);
  }, 90_000);

  it('starts the processes, prints the address, runs --chaos (crash, restart, cut off and heal) for --duration and stops them', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['demo', '--transport', 'grpc', '--port', '0', '--nodes', '3', '--duration', '17', '--chaos'], { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out).toContain('Synod demo: 3 Raft nodes as synod serve processes over gRPC, seed 1');
    expect(out.some((line) => /^dashboard: http:\/\/127\.0\.0\.1:\d+$/.test(line))).toBe(true);
    expect(out.some((line) => /^chaos: crashing leader n[1-3]$/.test(line))).toBe(true);
    expect(out.some((line) => /^chaos: restarting n[1-3]$/.test(line))).toBe(true);
    expect(out.some((line) => /^chaos: cutting leader n[1-3] off the network$/.test(line))).toBe(true);
    expect(out).toContain('chaos: healing the network');
    expect(out.some((line) => /incomplete/.test(line))).toBe(false);
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
