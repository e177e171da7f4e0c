import { describe, expect, it } from 'vitest';
import { LinkFaultPlan } from '../src/demo/link-fault-plan.js';

const MEMBERS = ['n1', 'n2', 'n3', 'n4'];

/** Every node's faults, as the demo pushes them. */
function pushed(plan: LinkFaultPlan, members = MEMBERS): Record<string, string[]> {
  return Object.fromEntries(members.map((id) => [id, plan.faultsOf(id, members).map((f) => (f.drop ? `x${f.peerId}` : `${f.peerId}+${f.delayMs}`))]));
}

describe('LinkFaultPlan: what each demo process injects', () => {
  it('injects nothing while healthy', () => {
    expect(pushed(new LinkFaultPlan())).toEqual({ n1: [], n2: [], n3: [], n4: [] });
  });

  it('isolating a node cuts its links on both ends, so it stays cut while either end restarts', () => {
    const plan = new LinkFaultPlan();
    plan.isolate('n2');
    expect(pushed(plan)).toEqual({ n1: ['xn2'], n2: ['xn1', 'xn3', 'xn4'], n3: ['xn2'], n4: ['xn2'] });
    expect(plan.isCut('n2', 'n4') && plan.isCut('n4', 'n2')).toBe(true);
    expect(plan.isCut('n1', 'n3')).toBe(false);
    expect(plan.isIsolated('n2')).toBe(true);
  });

  it('a partition cuts exactly the links between groups; unnamed nodes form one more group', () => {
    const plan = new LinkFaultPlan();
    expect(plan.partition([['n1'], [], ['n2']])).toEqual([['n1'], ['n2']]);
    expect(pushed(plan)).toEqual({ n1: ['xn2', 'xn3', 'xn4'], n2: ['xn1', 'xn3', 'xn4'], n3: ['xn1', 'xn2'], n4: ['xn1', 'xn2'] });
    // A new partition replaces the old one.
    plan.partition([['n1', 'n2']]);
    expect(pushed(plan)).toEqual({ n1: ['xn3', 'xn4'], n2: ['xn3', 'xn4'], n3: ['xn1', 'xn2'], n4: ['xn1', 'xn2'] });
  });

  it('a dropped link is cut on both ends; a delayed one is slowed on the lower id only, each direction once', () => {
    const plan = new LinkFaultPlan();
    plan.drop('n3', 'n1');
    plan.delay('n4', 'n2', 250);
    expect(pushed(plan)).toEqual({ n1: ['xn3'], n2: ['n4+250'], n3: ['xn1'], n4: [] });
    expect([plan.delayOf('n2', 'n4'), plan.delayOf('n4', 'n2'), plan.delayOf('n1', 'n2')]).toEqual([250, 250, 0]);
    // A cut wins over a delay on the same link; removing the delay leaves the cut.
    plan.delay('n1', 'n3', 100);
    expect(plan.faultsOf('n1', MEMBERS)).toEqual([{ peerId: 'n3', drop: true, delayMs: 0 }]);
    plan.delay('n4', 'n2', 0);
    expect(pushed(plan).n2).toEqual([]);
  });

  it('heal removes every fault at once', () => {
    const plan = new LinkFaultPlan();
    plan.isolate('n1');
    plan.partition([['n2']]);
    plan.drop('n3', 'n4');
    plan.delay('n3', 'n2', 10);
    plan.heal();
    expect(pushed(plan)).toEqual({ n1: [], n2: [], n3: [], n4: [] });
    expect(plan.isIsolated('n1')).toBe(false);
  });

  it('refuses a node in two groups, an empty partition, a link from a node to itself and bad delays, changing nothing', () => {
    const plan = new LinkFaultPlan();
    for (const bad of [() => plan.partition([['n1'], ['n1', 'n2']]), () => plan.partition([[], []]), () => plan.partition([]), () => plan.drop('n1', 'n1'), () => plan.delay('n2', 'n2', 5), () => plan.delay('n1', 'n2', -1), () => plan.delay('n1', 'n2', 10_001), () => plan.delay('n1', 'n2', 2.5)]) {
      expect(bad).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    expect(pushed(plan)).toEqual({ n1: [], n2: [], n3: [], n4: [] });
    expect(plan.isCut('n1', 'n1')).toBe(false);
  });
});
