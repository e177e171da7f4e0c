import { VirtualClock } from '@synod/core';
import { driveClock } from '@synod/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { startDashboard } from '../src/demo/dashboard-server.js';
import { DemoCluster } from '../src/demo/demo-cluster.js';

let cluster: DemoCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe('demo cluster', () => {
  it('keeps committing writes when the leader crashes and when it is cut off', async () => {
    const clock = new VirtualClock();
    cluster = new DemoCluster({ nodes: 5, seed: 1, clock });
    cluster.startWorkload();
    await driveClock(clock, 3000);
    const first = cluster.snapshot();
    expect(first.leader).toBeDefined();
    expect(first.stats.committedWrites).toBeGreaterThan(10);

    await cluster.crash(first.leader!);
    await driveClock(clock, 3000);
    const afterCrash = cluster.snapshot();
    expect(afterCrash.leader).toBeDefined();
    expect(afterCrash.leader).not.toBe(first.leader);
    expect(afterCrash.stats.committedWrites).toBeGreaterThan(first.stats.committedWrites);

    cluster.restart(first.leader!);
    cluster.isolate(afterCrash.leader!);
    await driveClock(clock, 3000);
    const afterIsolation = cluster.snapshot();
    expect(afterIsolation.leader).not.toBe(afterCrash.leader);
    expect(afterIsolation.stats.committedWrites).toBeGreaterThan(afterCrash.stats.committedWrites);
    expect(afterIsolation.stats.leaderChanges).toBeGreaterThanOrEqual(2);
  });

  it('serves the dashboard page and a status API on loopback', async () => {
    const clock = new VirtualClock();
    cluster = new DemoCluster({ nodes: 3, seed: 2, clock });
    await driveClock(clock, 2000);
    const server = await startDashboard(cluster, 0);
    try {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>Synod demo</title>');
      const status = (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as { nodes: unknown[]; leader: string };
      expect(status.nodes).toHaveLength(3);
      expect(status.leader).toMatch(/^n[1-3]$/);
      const crash = await fetch(`http://127.0.0.1:${port}/api/crash/${status.leader}`, { method: 'POST' });
      expect(crash.status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/api/crash/nope`, { method: 'POST' })).status).toBe(404);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
