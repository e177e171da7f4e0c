import { describe, expect, it } from 'vitest';
import { JoinFailedError } from '../../src/detection/detection-errors.js';
import { swimConfig } from '../../src/detection/swim-config.js';
import { SwimNode } from '../../src/detection/swim-node.js';
import type { SwimMessage } from '../../src/detection/swim-types.js';
import { InvalidArgumentError, StoppedError } from '../../src/errors/errors.js';
import { SeededRandom } from '../../src/time/random.js';
import { SwimCluster } from './swim-cluster.js';
import { TestNetwork } from './test-network.js';

describe('SwimNode scenarios (memberlist style)', () => {
  it('joins through a seed and converges to a full, all-alive view', async () => {
    const cluster = new SwimCluster({ size: 5 });
    const elapsed = await cluster.joinAll();
    expect(elapsed).toBeLessThan(5_000);
    for (const node of cluster.nodes.values()) {
      expect(node.members().map((m) => m.id).sort()).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
    }
    expect(cluster.events.some((e) => e.event.type !== 'alive')).toBe(false);
  });

  it('fails a join when no seed answers, and rejects pending joins on stop', async () => {
    const net = new TestNetwork();
    const node = new SwimNode({ transport: net.endpoint('a'), clock: net.clock, random: new SeededRandom(1), clusterId: 't', attachHandler: true });
    node.start();
    const join = node.join(['nobody'], { timeoutMs: 3000 });
    net.clock.advance(3000);
    await expect(join).rejects.toBeInstanceOf(JoinFailedError);
    const pending = node.join(['nobody']);
    node.stop();
    await expect(pending).rejects.toBeInstanceOf(StoppedError);
  });

  it('retries the join until a lossy path lets it through', async () => {
    const cluster = new SwimCluster({ size: 2 });
    cluster.net.cut('n1', 'n0', true);
    const join = cluster.node('n1').join(['n0'], { timeoutMs: 10_000 });
    cluster.clock.advance(2500);
    cluster.net.heal('n1', 'n0');
    cluster.clock.advance(1500);
    await expect(join).resolves.toBe('n0');
  });

  it('a crashed member is suspected, then declared dead by everyone', async () => {
    const cluster = new SwimCluster({ size: 5 });
    await cluster.joinAll();
    const crashAt = cluster.clock.now();
    cluster.net.crash('n4');
    cluster.node('n4').stop();
    const elapsed = cluster.runUntil(() => [...cluster.viewsOf('n4').values()].every((s) => s === 'dead'), 60_000);
    for (const id of ['n0', 'n1', 'n2', 'n3']) {
      const seen = cluster.eventsAbout('n4', id);
      // Everyone hears of the suspicion before the death (SWIM §4.2).
      expect(seen.slice(-2)).toEqual(['suspect', 'dead']);
    }
    const firstSuspect = cluster.events.find((e) => e.event.member.id === 'n4' && e.event.type === 'suspect')!;
    expect(firstSuspect.at - crashAt).toBeLessThanOrEqual(5 * 1000 + 1000);
    // Lifeguard's suspicion timeout lies between min (4 s for N=5) and max (24 s).
    expect(elapsed).toBeLessThan(30_000);
  });

  it('a suspected live member refutes with a higher incarnation and nobody declares it dead', async () => {
    const cluster = new SwimCluster({ size: 5 });
    await cluster.joinAll();
    // n0 wrongly suspects n2 (as after a lost ack) and gossips it.
    const n0 = cluster.node('n0');
    const bogus: SwimMessage = { type: 'gossip', updates: [{ kind: 'suspect', node: 'n2', incarnation: 0, from: 'n0' }] };
    n0.handleEnvelope({ clusterId: 'test', from: 'n0', to: 'n0', protocol: 'swim', payload: bogus });
    expect(n0.member('n2')?.state).toBe('suspect');
    cluster.runUntil(
      () => [...cluster.nodes.values()].every((n) => n.member('n2')?.state === 'alive' && n.member('n2')?.incarnation === 1),
      30_000,
    );
    expect(cluster.node('n2').core.incarnation).toBe(1);
    cluster.clock.advance(60_000);
    expect(cluster.events.filter((e) => e.event.type === 'dead')).toEqual([]);
    expect(cluster.eventsAbout('n2', 'n0')).toContain('alive');
  });

  it('an indirect probe succeeds when the direct path is broken', async () => {
    const cluster = new SwimCluster({ size: 5 });
    await cluster.joinAll();
    cluster.net.cut('n0', 'n1');
    const before = cluster.net.count('swim:ping-req');
    cluster.clock.advance(30_000);
    expect(cluster.net.count('swim:ping-req')).toBeGreaterThan(before);
    expect(cluster.events.filter((e) => e.event.type !== 'alive')).toEqual([]);
    expect(cluster.node('n0').member('n1')?.state).toBe('alive');
    expect(cluster.node('n0').core.awareness).toBe(0);
  });

  it('a graceful leave propagates as left, not dead', async () => {
    const cluster = new SwimCluster({ size: 5 });
    await cluster.joinAll();
    const leaver = cluster.node('n3');
    const leaving = leaver.leave({ timeoutMs: 5000 });
    cluster.clock.advance(5000);
    await leaving;
    leaver.stop();
    cluster.net.crash('n3');
    cluster.runUntil(() => [...cluster.viewsOf('n3').values()].every((s) => s === 'left'), 10_000);
    cluster.clock.advance(20_000);
    expect(cluster.eventsAbout('n3').filter((t) => t !== 'alive')).toEqual(['left', 'left', 'left', 'left']);
    for (const id of ['n0', 'n1', 'n2', 'n4']) expect(cluster.node(id).member('n3')?.state).toBe('left');
  });

  it('forgets dead members after gossipToTheDead, and a restarted member rejoins by refuting', async () => {
    const config = swimConfig('local', { gossipToTheDeadMs: 5_000 });
    const cluster = new SwimCluster({ size: 4, config });
    await cluster.joinAll();
    cluster.net.crash('n3');
    cluster.node('n3').stop();
    cluster.runUntil(() => [...cluster.viewsOf('n3').values()].every((s) => s === 'dead'), 60_000);
    cluster.runUntil(() => [...cluster.viewsOf('n3').values()].every((s) => s === undefined), 30_000);
    // A fresh process with the same id comes back at incarnation 0.
    cluster.net.recover('n3');
    cluster.nodes.delete('n3');
    const reborn = cluster.add('n3');
    const join = reborn.join(['n0']);
    cluster.clock.advance(100);
    await join;
    cluster.runUntil(() => cluster.converged(), 30_000);
  });

  it('disseminates membership to all N members', async () => {
    const cluster = new SwimCluster({ size: 32, seed: 3 });
    const elapsed = await cluster.joinAll(30_000);
    expect(elapsed).toBeLessThan(10_000);
    cluster.net.crash('n17');
    cluster.node('n17').stop();
    cluster.runUntil(() => [...cluster.viewsOf('n17').values()].every((s) => s === 'dead'), 90_000);
  });

  it('drops malformed payloads and envelopes of other clusters, and passes other protocols on', () => {
    const net = new TestNetwork();
    const node = new SwimNode({ transport: net.endpoint('a'), clock: net.clock, random: new SeededRandom(1), clusterId: 't' });
    expect(node.handleEnvelope({ clusterId: 't', from: 'b', to: 'a', protocol: 'raft', payload: {} })).toBe(false);
    expect(node.handleEnvelope({ clusterId: 't', from: 'b', to: 'a', protocol: 'swim', payload: { type: 'ping' } })).toBe(true);
    const alive = { type: 'gossip', updates: [{ kind: 'alive', node: 'b', incarnation: 0 }] };
    expect(node.handleEnvelope({ clusterId: 'other', from: 'b', to: 'a', protocol: 'swim', payload: alive })).toBe(true);
    expect(node.stats.dropped).toBe(2);
    expect(node.member('b')).toBeUndefined();
    node.handleEnvelope({ clusterId: 't', from: 'b', to: 'a', protocol: 'swim', payload: alive });
    expect(node.member('b')?.state).toBe('alive');
  });
});

describe('SwimNode metadata', () => {
  it('gossips a member\'s metadata to everyone, and an update of it, with a higher incarnation', async () => {
    const cluster = new SwimCluster({ size: 4 });
    cluster.node('n3').setMetadata({ zone: 'eu-1' });
    await cluster.joinAll();
    // Joiners learn it by push-pull, the rest by gossip.
    cluster.runUntil(() => ['n0', 'n1', 'n2'].every((id) => cluster.node(id).member('n3')?.meta['zone'] === 'eu-1'), 30_000);
    const before = cluster.node('n0').member('n3')!.incarnation;
    const updates: string[] = [];
    for (const id of ['n0', 'n1', 'n2']) cluster.node(id).on('updated', ({ member }) => updates.push(`${id}:${member.id}:${member.meta['zone']}`));
    cluster.node('n3').setMetadata({ zone: 'eu-2', role: 'storage' });
    cluster.runUntil(() => updates.length === 3, 30_000);
    expect(updates.sort()).toEqual(['n0:n3:eu-2', 'n1:n3:eu-2', 'n2:n3:eu-2']);
    expect(cluster.node('n1').member('n3')).toMatchObject({ state: 'alive', incarnation: before + 1, meta: { zone: 'eu-2', role: 'storage' } });
    // No member saw it as anything but alive.
    expect(cluster.events.filter((e) => e.event.member.id === 'n3' && e.event.type !== 'alive')).toEqual([]);
  });

  it('refuses metadata over 512 bytes with InvalidArgumentError and keeps the old one', () => {
    const cluster = new SwimCluster({ size: 1 });
    const node = cluster.node('n0');
    node.setMetadata({ a: 'b' });
    expect(() => node.setMetadata({ big: 'x'.repeat(600) })).toThrow(InvalidArgumentError);
    expect(node.member('n0')!.meta).toEqual({ a: 'b' });
  });
});
