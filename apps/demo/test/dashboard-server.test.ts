import { VirtualClock } from '@synod/core';
import { driveClock } from '@synod/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DashboardFrame } from '../src/demo/dashboard-types.js';
import { DemoCluster } from '../src/demo/demo-cluster.js';
import { startDashboard, type DashboardServer } from '../src/demo/dashboard-server.js';

let cluster: DemoCluster;
let dashboard: DashboardServer;
const clock = new VirtualClock();

beforeAll(async () => {
  cluster = new DemoCluster({ nodes: 3, seed: 2, clock });
  await driveClock(clock, 2000);
  dashboard = await startDashboard(cluster, { port: 0, pushIntervalMs: 50 });
});
afterAll(async () => {
  await dashboard.close();
  await cluster.stop();
});

async function post(path: string, body?: string): Promise<{ status: number; answer: { ok?: boolean; error?: string } }> {
  const response = await fetch(`${dashboard.url}/api/${path}`, { method: 'POST', body });
  return { status: response.status, answer: (await response.json()) as { ok?: boolean; error?: string } };
}

/** Reads the first `count` Server-Sent Events of /api/events. */
async function readEvents(count: number): Promise<DashboardFrame[]> {
  const response = await fetch(`${dashboard.url}/api/events`);
  expect(response.headers.get('content-type')).toBe('text/event-stream');
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  const frames: DashboardFrame[] = [];
  while (frames.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    let end;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const event = text.slice(0, end);
      text = text.slice(end + 2);
      frames.push(JSON.parse(event.replace(/^data: /, '')) as DashboardFrame);
    }
  }
  await reader.cancel();
  return frames;
}

describe('dashboard server', () => {
  it('serves the page and its bundled script and styles from 127.0.0.1, nothing from elsewhere', async () => {
    expect(dashboard.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const page = await (await fetch(`${dashboard.url}/`)).text();
    expect(page).toContain('<title>Synod demo</title>');
    expect(page).toContain('src="/assets/app.js"');
    expect(page).not.toMatch(/(src|href)="(https?:)?\/\//);
    const script = await fetch(`${dashboard.url}/assets/app.js`);
    expect(script.headers.get('content-type')).toContain('javascript');
    expect((await script.text()).length).toBeGreaterThan(20_000); // uPlot is in the bundle
    const styles = await (await fetch(`${dashboard.url}/assets/app.css`)).text();
    expect(styles).toContain('.u-legend'); // uPlot's own styles
  });

  it('pushes frames as Server-Sent Events with every node, link and detector', async () => {
    const frames = await readEvents(3);
    expect(frames).toHaveLength(3);
    const frame = frames.at(-1)!;
    expect(frame.nodes.map((n) => n.id)).toEqual(['n1', 'n2', 'n3']);
    expect(frame.leader).toMatch(/^n[1-3]$/);
    expect(frame.links).toHaveLength(6);
    expect(frame.phi.length).toBeGreaterThan(0);
    expect(frame.phiThreshold).toBeGreaterThan(0);
    expect(Object.keys(frame.nodes[0]!).sort()).toEqual(
      ['appliedIndex', 'commitIndex', 'health', 'id', 'leader', 'logLength', 'role', 'snapshotIndex', 'term', 'voter'].sort(),
    );
  });

  it('answers controls with 200, bad input with 400 and unknown routes with 404', async () => {
    const leader = cluster.leader()!;
    expect((await post(`transfer/${leader}`)).status).toBe(400);
    expect(await post('crash/nope')).toEqual({ status: 400, answer: { error: expect.stringMatching(/no node 'nope'/) } });
    expect((await post('partition', '{"groups": "n1"}')).status).toBe(400);
    expect((await post('partition', 'not json')).answer.error).toMatch(/not JSON/);
    expect((await post('link/delay', '{"a":"n1","b":"n2"}')).answer.error).toMatch(/"ms" must be a number/);
    expect((await post('bogus')).status).toBe(404);
    expect((await fetch(`${dashboard.url}/api/crash/n1`)).status).toBe(404); // controls are POST only

    expect(await post('partition', '{"groups":[["n1"],["n2","n3"]]}')).toEqual({ status: 200, answer: { ok: true } });
    expect((await post('link/delay', '{"a":"n2","b":"n3","ms":100}')).status).toBe(200);
    expect((await post('heal')).status).toBe(200);
    expect((await post(`crash/${leader}`)).status).toBe(200);
    const frame = (await (await fetch(`${dashboard.url}/api/status`)).json()) as DashboardFrame;
    expect(frame.nodes.find((n) => n.id === leader)!.health).toBe('down');
    expect(frame.timeline.map((e) => e.text)).toEqual(expect.arrayContaining([`${leader} crashed`, 'network healed']));
    expect((await post(`restart/${leader}`)).status).toBe(200);
    expect((await post('workload/start')).status).toBe(200);
    expect((await post('workload/stop')).status).toBe(200);
  });

  it('serves the HTML report of the whole run', async () => {
    const report = await fetch(`${dashboard.url}/report.html`);
    expect(report.status).toBe(200);
    expect(await report.text()).toContain('synod demo: the whole run');
  });
});
