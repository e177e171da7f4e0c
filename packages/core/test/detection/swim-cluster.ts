import { SwimNode } from '../../src/detection/swim-node.js';
import { swimConfig, type SwimConfig } from '../../src/detection/swim-config.js';
import type { MemberEvent } from '../../src/detection/swim-types.js';
import { SeededRandom } from '../../src/time/random.js';
import type { NodeId } from '../../src/transport/transport.js';
import { TestNetwork } from './test-network.js';

export interface ClusterOptions {
  readonly size: number;
  readonly seed?: number;
  readonly config?: SwimConfig;
}

/** Member events as `node: type member` strings, for readable assertions. */
export type EventLog = string[];

/** SwimNodes n0..n(size-1) on a TestNetwork; nothing joined yet. */
export class SwimCluster {
  readonly net: TestNetwork;
  readonly nodes = new Map<NodeId, SwimNode>();
  readonly events: { at: number; node: NodeId; event: MemberEvent }[] = [];
  readonly config: SwimConfig;
  readonly #random: SeededRandom;

  constructor(options: ClusterOptions) {
    this.net = new TestNetwork(options.seed ?? 1);
    this.#random = new SeededRandom((options.seed ?? 1) * 7919);
    this.config = options.config ?? swimConfig('lan');
    for (let i = 0; i < options.size; i++) this.add(`n${i}`);
  }

  get clock() {
    return this.net.clock;
  }

  add(id: NodeId): SwimNode {
    const node = new SwimNode({
      transport: this.net.endpoint(id),
      clock: this.net.clock,
      random: this.#random.fork(),
      clusterId: 'test',
      config: this.config,
      attachHandler: true,
    });
    for (const type of ['alive', 'suspect', 'dead', 'left'] as const) {
      node.on(type, (event) => this.events.push({ at: this.clock.now(), node: id, event }));
    }
    node.start();
    this.nodes.set(id, node);
    return node;
  }

  node(id: NodeId): SwimNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  /** Every node joins through n0, then time runs until all see all alive (or `maxMs`). */
  async joinAll(maxMs = 60_000): Promise<number> {
    const joins: Promise<NodeId>[] = [];
    for (const [id, node] of this.nodes) if (id !== 'n0') joins.push(node.join(['n0']));
    this.clock.advance(50);
    await Promise.all(joins);
    return this.runUntil(() => this.converged(), maxMs);
  }

  /** True when every running node sees exactly the running nodes, all alive. */
  converged(ids: readonly NodeId[] = [...this.nodes.keys()]): boolean {
    // Cheap O(1) check first: the full scan is O(N) per node.
    for (const id of ids) if (this.node(id).core.liveMembers !== ids.length) return false;
    for (const id of ids) {
      const members = this.node(id).members();
      const alive = members.filter((m) => m.state === 'alive');
      if (alive.length !== ids.length) return false;
    }
    return true;
  }

  /** Advances time in small steps until `done()` or `maxMs` have passed; returns the elapsed time. */
  runUntil(done: () => boolean, maxMs: number, stepMs = 50): number {
    const start = this.clock.now();
    while (!done()) {
      if (this.clock.now() - start >= maxMs) throw new Error(`condition not met within ${maxMs} ms`);
      this.clock.advance(stepMs);
    }
    return this.clock.now() - start;
  }

  /** States of `subject` as seen by every node except itself. */
  viewsOf(subject: NodeId): Map<NodeId, string | undefined> {
    const views = new Map<NodeId, string | undefined>();
    for (const [id, node] of this.nodes) if (id !== subject) views.set(id, node.member(subject)?.state);
    return views;
  }

  eventsAbout(subject: NodeId, seenBy?: NodeId): string[] {
    return this.events
      .filter((e) => e.event.member.id === subject && (seenBy === undefined || e.node === seenBy))
      .map((e) => e.event.type);
  }
}
