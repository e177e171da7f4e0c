import { describe, expect, it } from 'vitest';
import { PhiAccrualDetector } from '../../src/detection/phi-accrual.js';
import { swimConfig } from '../../src/detection/swim-config.js';
import { SwimFailureDetector } from '../../src/detection/swim-failure-detector.js';
import { SwimNode } from '../../src/detection/swim-node.js';
import type { AvailabilityChange } from '../../src/detection/failure-detector.js';
import { KvStateMachine, type KvQuery, type KvQueryResult, type KvResult } from '../../src/kv/index.js';
import { RaftNode } from '../../src/raft/raft-node.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { SeededRandom } from '../../src/time/random.js';
import type { VirtualClock } from '../../src/time/virtual-clock.js';
import type { NodeId } from '../../src/transport/transport.js';
import { SwimCluster } from './swim-cluster.js';
import { TestNetwork } from './test-network.js';

/** One event-loop turn: lets RaftNode's storage continuations run between virtual-clock events. */
const drain = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Runs timers one by one until `condition` holds; fails after `limitMs` of virtual time. */
async function driveUntil(clock: VirtualClock, condition: () => boolean, limitMs: number): Promise<number> {
  const start = clock.now();
  await drain();
  while (!condition()) {
    const due = clock.nextDueAt();
    if (due === undefined || due > start + limitMs) throw new Error(`condition not met within ${limitMs} ms of virtual time`);
    clock.runNext();
    await drain();
  }
  return clock.now() - start;
}

describe('SwimFailureDetector', () => {
  it('turns SWIM suspicion into unavailability and a refutation back into availability, once each', async () => {
    const cluster = new SwimCluster({ size: 4, config: swimConfig('local') });
    await cluster.joinAll();
    const detector = new SwimFailureDetector({ swim: cluster.node('n0') });
    const changes: AvailabilityChange[] = [];
    detector.onChange((change) => changes.push(change));
    expect(detector.isAvailable('n3', cluster.clock.now())).toBe(true);
    expect(detector.isAvailable('never-heard-of', cluster.clock.now())).toBe(true);

    // n3 is cut off from everyone long enough to be suspected, not declared dead.
    for (const id of ['n0', 'n1', 'n2']) cluster.net.cut(id, 'n3');
    cluster.runUntil(() => cluster.node('n0').member('n3')?.state === 'suspect', 20_000);
    expect(detector.isAvailable('n3', cluster.clock.now())).toBe(false);
    for (const id of ['n0', 'n1', 'n2']) cluster.net.heal(id, 'n3');
    cluster.runUntil(() => cluster.node('n0').member('n3')?.state === 'alive', 20_000);
    expect(detector.isAvailable('n3', cluster.clock.now())).toBe(true);
    detector.check(cluster.clock.now());
    expect(changes.map((c) => [c.peer, c.available])).toEqual([
      ['n3', false],
      ['n3', true],
    ]);
  });

  it("with unavailableFrom 'dead', a suspect stays available until SWIM declares it dead", async () => {
    const cluster = new SwimCluster({ size: 4, config: swimConfig('local') });
    await cluster.joinAll();
    const detector = new SwimFailureDetector({ swim: cluster.node('n0'), unavailableFrom: 'dead' });
    cluster.net.crash('n3');
    cluster.node('n3').stop();
    cluster.runUntil(() => cluster.node('n0').member('n3')?.state === 'suspect', 20_000);
    expect(detector.isAvailable('n3', cluster.clock.now())).toBe(true);
    cluster.runUntil(() => cluster.node('n0').member('n3')?.state === 'dead', 60_000);
    expect(detector.isAvailable('n3', cluster.clock.now())).toBe(false);
  });

  it('reports phi from the heartbeats fed in, and forgets it on remove', () => {
    const cluster = new SwimCluster({ size: 2 });
    const detector = new SwimFailureDetector({ swim: cluster.node('n0'), phi: new PhiAccrualDetector() });
    expect(detector.phi('n1', 0)).toBeUndefined();
    for (let t = 0; t <= 5000; t += 1000) detector.heartbeat('n1', t);
    expect(detector.phi('n1', 5500)).toBeLessThan(1);
    expect(detector.phi('n1', 9000)).toBeGreaterThan(8);
    detector.remove('n1');
    expect(detector.phi('n1', 9000)).toBeUndefined();
  });

  it('stops following SWIM after dispose', async () => {
    const cluster = new SwimCluster({ size: 3, config: swimConfig('local') });
    await cluster.joinAll();
    const detector = new SwimFailureDetector({ swim: cluster.node('n0') });
    const changes: AvailabilityChange[] = [];
    detector.onChange((change) => changes.push(change));
    detector.dispose();
    cluster.net.crash('n2');
    cluster.runUntil(() => cluster.node('n0').member('n2')?.state === 'suspect', 20_000);
    expect(changes).toEqual([]);
  });
});

describe('RaftNode with SWIM as its failure detector (detector-assisted elections)', () => {
  type KvNode = RaftNode<KvResult, KvQuery, KvQueryResult>;

  /** Three Raft nodes with long election timeouts (5–10 s), each sharing its endpoint with a SwimNode. */
  async function cluster(withDetector: boolean): Promise<{ net: TestNetwork; rafts: Map<NodeId, KvNode>; swims: Map<NodeId, SwimNode> }> {
    const net = new TestNetwork(3);
    const ids = ['a', 'b', 'c'];
    const rafts = new Map<NodeId, KvNode>();
    const swims = new Map<NodeId, SwimNode>();
    const config = swimConfig('local', { probeIntervalMs: 200, probeTimeoutMs: 80, gossipIntervalMs: 50 });
    for (const [i, id] of ids.entries()) {
      const transport = net.endpoint(id);
      const swim = new SwimNode({ transport, clock: net.clock, random: new SeededRandom(10 + i), clusterId: 'c', config });
      const raft: KvNode = new RaftNode({
        raft: { id, voters: ids, electionTicks: 50 },
        clusterId: 'c',
        transport,
        storage: new MemoryStorage(),
        stateMachine: new KvStateMachine(),
        clock: net.clock,
        random: new SeededRandom(20 + i),
        tickIntervalMs: 100,
        attachToTransport: false,
        // The default hold-down is half the election timeout (2.5 s here); a
        // leader pause of up to 500 ms must still not depose it.
        ...(withDetector ? { failureDetector: new SwimFailureDetector({ swim }), toleratedLeaderPauseMs: 500 } : {}),
      });
      transport.setHandler((envelope) => {
        if (!swim.handleEnvelope(envelope)) raft.receive(envelope);
      });
      rafts.set(id, raft);
      swims.set(id, swim);
    }
    for (const raft of rafts.values()) raft.start();
    for (const swim of swims.values()) swim.start();
    let joined = 0;
    for (const id of ['b', 'c']) void swims.get(id)!.join(['a']).then(() => joined++);
    void rafts.get('a')!.campaign().catch(() => undefined);
    await driveUntil(net.clock, () => joined === 2 && [...rafts.values()].every((r) => r.status().leader === 'a'), 5_000);
    return { net, rafts, swims };
  }

  async function failover(withDetector: boolean): Promise<number> {
    const { net, rafts, swims } = await cluster(withDetector);
    net.crash('a');
    swims.get('a')!.stop();
    const elapsed = await driveUntil(
      net.clock,
      () => {
        const leader = rafts.get('b')!.status().leader;
        return leader !== undefined && leader !== 'a' && rafts.get('c')!.status().leader === leader;
      },
      30_000,
    );
    for (const raft of rafts.values()) await Promise.race([raft.stop(), drain()]);
    return elapsed;
  }

  it('elects a new leader within a few SWIM probe rounds of a crash instead of a 5–10 s election timeout', async () => {
    const assisted = await failover(true);
    const plain = await failover(false);
    expect(plain).toBeGreaterThanOrEqual(5_000);
    // Two members probe the crashed leader every other 200 ms period; the
    // detector fires at the first failed probe, then the 500 ms hold-down
    // passes and PreVote runs.
    expect(assisted).toBeLessThan(1_500);
  });
});
