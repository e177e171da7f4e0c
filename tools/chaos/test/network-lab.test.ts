import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkLab } from '../src/network-lab.js';
import { run } from '../src/shell.js';
import { connectMs, Listener, sendDatagrams, tcpReaches } from './listener.js';

// The lab needs root and network namespaces; without them the suite falls
// back to loopback (see run-chaos), and these tests have nothing to test.
const canNamespace = process.getuid?.() === 0 && (await run(['ip', 'netns', 'list']).then(() => true, () => false));

describe.skipIf(!canNamespace)('NetworkLab (root, network namespaces)', () => {
  let lab: NetworkLab;
  const listeners: Listener[] = [];
  const listener = (id: string): Listener => listeners[['a', 'b', 'c'].indexOf(id)]!;

  beforeAll(async () => {
    lab = await NetworkLab.create({ ids: ['a', 'b', 'c'] });
    for (const id of ['a', 'b', 'c']) listeners.push(await Listener.start(lab, id));
  });

  afterAll(async () => {
    for (const l of listeners) l.stop();
    await lab?.destroy();
  });

  it('connects every namespace to every other through the bridge', async () => {
    expect(await tcpReaches(lab, 'a', 'b')).toBe(true);
    expect(await tcpReaches(lab, 'c', 'a')).toBe(true);
  });

  it('a partition stops traffic between its sides both ways, keeps it within a side, and healing restores it', async () => {
    await lab.partition([['a'], ['b', 'c']]);
    expect(await tcpReaches(lab, 'a', 'b')).toBe(false);
    expect(await tcpReaches(lab, 'b', 'a')).toBe(false);
    expect(await tcpReaches(lab, 'b', 'c')).toBe(true);
    await lab.heal();
    expect(await tcpReaches(lab, 'a', 'b')).toBe(true);
    expect(await tcpReaches(lab, 'b', 'a')).toBe(true);
  });

  it('a one-way block drops packets in one direction only', async () => {
    const a = lab.hosts.get('a')!.address;
    const b = lab.hosts.get('b')!.address;
    await lab.block('a', 'b');
    await sendDatagrams(lab, 'a', 'b');
    await sendDatagrams(lab, 'b', 'a');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(listener('b').datagramsFrom).not.toContain(a);
    expect(listener('a').datagramsFrom).toContain(b);
    await lab.heal();
    await sendDatagrams(lab, 'a', 'b');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(listener('b').datagramsFrom).toContain(a);
  });

  it('total loss on a host cuts it off, and healing restores it', async () => {
    await lab.impair('c', { lossPercent: 100 });
    expect(await tcpReaches(lab, 'c', 'a')).toBe(false);
    await lab.heal();
    expect(await tcpReaches(lab, 'c', 'a')).toBe(true);
  });

  it('netem delay shows up in measured round trips', async (context) => {
    if (!lab.capabilities.netem) {
      context.skip('this kernel has no tc netem (sch_netem), so the lab cannot delay packets');
      return;
    }
    const before = await connectMs(lab, 'b');
    await lab.impair('b', { delayMs: 100 });
    const delayed = await connectMs(lab, 'b');
    await lab.heal();
    const after = await connectMs(lab, 'b');
    // The SYN-ACK leaves b late: one delay per handshake.
    expect(delayed - before).toBeGreaterThanOrEqual(90);
    expect(after).toBeLessThan(before + 50);
  });

  it('removes its namespaces on destroy, and sweeps those of dead processes', async () => {
    const other = await NetworkLab.create({ ids: ['x'] });
    const names = (): Promise<string> => run(['ip', 'netns', 'list']);
    expect(await names()).toContain(`${other.prefix}-x`);
    await other.destroy();
    expect(await names()).not.toContain(`${other.prefix}-x`);

    // A namespace named for a process that no longer exists.
    const stale = 'syn999999x0-hub';
    await run(['ip', 'netns', 'add', stale]);
    const removed = await NetworkLab.sweepStale();
    expect(removed).toContain(stale);
    expect(await names()).not.toContain(stale);
  });
});
