import { InvalidArgumentError, VirtualClock } from '@synod/core';
import { driveClock } from '@synod/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import type { DashboardFrame, NodeFrame } from '../src/demo/dashboard-types.js';
import { DemoCluster } from '../src/demo/demo-cluster.js';
import { PHI_FORGET_AFTER_MS, PHI_THRESHOLD } from '../src/demo/detector-view.js';

let cluster: DemoCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

function node(frame: DashboardFrame, id: string): NodeFrame {
  return frame.nodes.find((n) => n.id === id)!;
}

function start(options: { nodes: number; seed: number; algorithm?: 'raft' | 'paxos' }): { cluster: DemoCluster; clock: VirtualClock } {
  const clock = new VirtualClock();
  cluster = new DemoCluster({ ...options, clock });
  return { cluster, clock };
}

describe('demo cluster (virtual clock)', () => {
  it('keeps committing when the leader crashes and when it is cut off, and the history stays linearizable', async () => {
    const { cluster, clock } = start({ nodes: 5, seed: 1 });
    cluster.startWorkload();
    await driveClock(clock, 3000);
    const first = cluster.frame();
    expect(first.leader).toBeDefined();
    expect(first.workload.ok).toBeGreaterThan(10);

    await cluster.crash(first.leader!);
    await driveClock(clock, 3000);
    const afterCrash = cluster.frame();
    expect(afterCrash.leader).toBeDefined();
    expect(afterCrash.leader).not.toBe(first.leader);
    expect(node(afterCrash, first.leader!).health).toBe('down');
    expect(afterCrash.workload.ok).toBeGreaterThan(first.workload.ok);

    cluster.restart(first.leader!);
    cluster.isolate(afterCrash.leader!);
    await driveClock(clock, 3000);
    const afterIsolation = cluster.frame();
    expect(afterIsolation.leader).not.toBe(afterCrash.leader);
    expect(node(afterIsolation, afterCrash.leader!).health).toBe('isolated');
    expect(afterIsolation.workload.ok).toBeGreaterThan(afterCrash.workload.ok);
    expect(cluster.leaderChanges).toBeGreaterThanOrEqual(2);

    await cluster.checkRecentWindow(10_000);
    const verdict = cluster.frame().verdict;
    expect(verdict.verdict).toBe('linearizable');
    expect(verdict.operations).toBeGreaterThan(50);
    const kinds = afterIsolation.timeline.map((e) => e.kind);
    expect(kinds).toContain('election');
    expect(kinds).toContain('fault');
    expect(await cluster.htmlReport()).toContain('linearizable');
  });

  it('runs Multi-Paxos too: elects, commits, and fails over after a crash', async () => {
    const { cluster, clock } = start({ nodes: 3, seed: 4, algorithm: 'paxos' });
    cluster.startWorkload();
    await driveClock(clock, 3000);
    const first = cluster.frame();
    expect(first.algorithm).toBe('paxos');
    expect(first.leader).toBeDefined();
    expect(first.workload.ok).toBeGreaterThan(10);
    await cluster.crash(first.leader!);
    await driveClock(clock, 4000);
    const after = cluster.frame();
    expect(after.leader).toBeDefined();
    expect(after.leader).not.toBe(first.leader);
    expect(after.workload.ok).toBeGreaterThan(first.workload.ok);
    await cluster.checkRecentWindow(10_000);
    expect(cluster.frame().verdict.verdict).toBe('linearizable');
  });

  it('a partition leaves a leader only on the majority side, marks the links cut, and heal undoes it', async () => {
    const { cluster, clock } = start({ nodes: 5, seed: 2 });
    cluster.startWorkload();
    await driveClock(clock, 2000);
    const leader = cluster.leader()!;
    const others = cluster.ids.filter((id) => id !== leader);
    cluster.partition([[leader, others[0]!], others.slice(1)]);
    await driveClock(clock, 3000);
    const split = cluster.frame();
    expect(others.slice(1)).toContain(split.leader);
    const across = split.links.find((l) => l.from === leader && l.to === others[1])!;
    expect(across.cut).toBe(true);
    expect(split.links.find((l) => l.from === leader && l.to === others[0])!.cut).toBe(false);

    cluster.heal();
    await driveClock(clock, 2000);
    const healed = cluster.frame();
    expect(healed.links.every((l) => !l.cut)).toBe(true);
    expect(healed.nodes.every((n) => n.health === 'up')).toBe(true);
    // Traffic is counted per link: the leader talks to every follower.
    expect(healed.links.filter((l) => l.from === healed.leader).every((l) => l.perSecond > 0)).toBe(true);
  });

  it('dropping and delaying one link, pausing the leader, and transferring leadership', async () => {
    const { cluster, clock } = start({ nodes: 3, seed: 3 });
    cluster.startWorkload();
    await driveClock(clock, 2000);
    const leader = cluster.leader()!;
    const [a, b] = cluster.ids.filter((id) => id !== leader) as [string, string];

    cluster.dropLink(a, b);
    cluster.delayLink(leader, a, 200);
    const faulty = cluster.frame();
    expect(faulty.links.find((l) => l.from === a && l.to === b)!.cut).toBe(true);
    expect(faulty.links.find((l) => l.from === a && l.to === leader)!.delayMs).toBe(200);
    cluster.heal();
    expect(cluster.frame().links.every((l) => !l.cut && l.delayMs === 0)).toBe(true);

    cluster.pause(leader, 3000);
    await driveClock(clock, 100);
    expect(node(cluster.frame(), leader).health).toBe('paused');
    await driveClock(clock, 3500);
    const afterPause = cluster.frame();
    expect(node(afterPause, leader).health).toBe('up');
    expect(afterPause.leader).toBeDefined();
    expect(afterPause.leader).not.toBe(leader);

    const target = cluster.ids.find((id) => id !== afterPause.leader)!;
    const transfer = cluster.transferLeadership(target);
    await driveClock(clock, 2000);
    await transfer;
    expect(cluster.leader()).toBe(target);
    await cluster.checkRecentWindow(10_000);
    expect(cluster.frame().verdict.verdict).toBe('linearizable');
  });

  it('adds a member that catches up as a voter, and removes one', async () => {
    const { cluster, clock } = start({ nodes: 3, seed: 5 });
    cluster.startWorkload();
    await driveClock(clock, 2000);
    const adding = cluster.addMember();
    await driveClock(clock, 2000);
    expect(await adding).toBe('n4');
    await driveClock(clock, 1000);
    const grown = cluster.frame();
    const n4 = node(grown, 'n4');
    expect(n4.voter).toBe(true);
    expect(n4.appliedIndex).toBeGreaterThan(0);
    expect(grown.timeline.some((e) => e.kind === 'membership' && e.text.includes('n4 is a voter'))).toBe(true);

    const victim = cluster.ids.find((id) => id !== cluster.leader())!;
    const removing = cluster.removeMember(victim);
    await driveClock(clock, 2000);
    await removing;
    const shrunk = cluster.frame();
    expect(node(shrunk, victim).health).toBe('removed');
    expect(node(shrunk, victim).voter).toBe(false);
    expect(shrunk.links.some((l) => l.from === victim || l.to === victim)).toBe(false);
  });

  it("followers' detectors see the phi of a crashed leader climb past the threshold", async () => {
    const { cluster, clock } = start({ nodes: 3, seed: 6 });
    await driveClock(clock, 2000);
    const leader = cluster.leader()!;
    const calm = cluster.frame().phi.filter((p) => p.peer === leader);
    expect(calm.length).toBe(2);
    expect(calm.every((p) => p.phi < PHI_THRESHOLD)).toBe(true);
    await cluster.crash(leader);
    await driveClock(clock, 400);
    const alarmed = cluster.frame().phi.filter((p) => p.peer === leader);
    expect(alarmed.length).toBe(2);
    expect(alarmed.every((p) => p.phi > PHI_THRESHOLD)).toBe(true);
    // Long silent peers leave the chart rather than sit at the top of it.
    await driveClock(clock, PHI_FORGET_AFTER_MS);
    expect(cluster.frame().phi.filter((p) => p.peer === leader)).toEqual([]);
  });

  it('runs SWIM beside the consensus nodes: every node sees every member alive, then a crashed one dead', async () => {
    const { cluster, clock } = start({ nodes: 4, seed: 8 });
    await driveClock(clock, 3000);
    const healthy = cluster.frame().swim;
    expect(healthy).toHaveLength(16);
    expect(healthy.every((s) => s.state === 'alive')).toBe(true);
    await cluster.crash('n4');
    await driveClock(clock, 15_000);
    const after = cluster.frame();
    const aboutN4 = after.swim.filter((s) => s.member === 'n4');
    expect(aboutN4.map((s) => s.observer).sort()).toEqual(['n1', 'n2', 'n3']);
    expect(aboutN4.every((s) => s.state === 'dead')).toBe(true);
    expect(after.timeline.filter((e) => e.text.endsWith('declares n4 dead'))).toHaveLength(1);
    cluster.restart('n4');
    await driveClock(clock, 5000);
    expect(cluster.frame().swim.every((s) => s.state === 'alive')).toBe(true);
  });

  it('refuses bad control input with InvalidArgumentError and leaves the cluster as it was', async () => {
    const { cluster, clock } = start({ nodes: 3, seed: 7 });
    await driveClock(clock, 1500);
    const before = cluster.frame().timeline.length;
    await expect(cluster.crash('n9')).rejects.toThrow(InvalidArgumentError);
    expect(() => cluster.restart('n1')).toThrow(/already up/);
    expect(() => cluster.partition([['n1'], ['n1', 'n2']])).toThrow(/two groups/);
    expect(() => cluster.partition([])).toThrow(/at least one/);
    expect(() => cluster.dropLink('n1', 'n1')).toThrow(/two different nodes/);
    expect(() => cluster.delayLink('n1', 'n2', -5)).toThrow(/delay must be/);
    expect(() => cluster.pause('n1', 20)).toThrow(/pause must be/);
    await expect(cluster.transferLeadership(cluster.leader()!)).rejects.toThrow(/already the leader/);
    expect(() => new DemoCluster({ nodes: 10, seed: 1, clock })).toThrow(InvalidArgumentError);
    expect(cluster.frame().timeline.length).toBe(before);
  });
});
