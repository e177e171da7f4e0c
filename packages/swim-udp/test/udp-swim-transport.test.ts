import { JoinFailedError, SeededRandom, SwimNode, swimConfig, systemClock, type Logger, type MemberEvent } from '@synod/core';
import { afterEach, describe, expect, it } from 'vitest';
import { bindUdpSocket, lossySocket } from '../src/datagram-socket.js';
import { Keyring } from '../src/keyring.js';
import { UdpSwimTransport, type UdpSwimTransportOptions } from '../src/udp-swim-transport.js';

const CONFIG = swimConfig('local', { probeIntervalMs: 200, probeTimeoutMs: 100, gossipIntervalMs: 50, pushPullIntervalMs: 1_000 });
const KEY = Buffer.alloc(32, 7);

interface Member {
  readonly transport: UdpSwimTransport;
  readonly swim: SwimNode;
  readonly events: MemberEvent[];
}

const running: Member[] = [];
afterEach(async () => {
  for (const member of running.splice(0)) {
    member.swim.stop();
    await member.transport.close();
  }
});

let seed = 1;
async function member(options: Partial<UdpSwimTransportOptions> = {}, config = CONFIG): Promise<Member> {
  const transport = await UdpSwimTransport.start({ listen: '127.0.0.1:0', clusterId: 'udp', keyring: new Keyring([KEY]), tcpFallbackAfterMs: 30, ...options });
  const swim = new SwimNode({ transport, clock: systemClock, random: new SeededRandom(seed++), clusterId: 'udp', config, attachHandler: true });
  const events: MemberEvent[] = [];
  for (const type of ['alive', 'suspect', 'dead', 'left'] as const) swim.on(type, (event) => events.push(event));
  swim.start();
  const created = { transport, swim, events };
  running.push(created);
  return created;
}

async function eventually(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function capturingLogger(): Logger & { readonly warnings: string[] } {
  const warnings: string[] = [];
  const ignore = (): void => undefined;
  return { warnings, debug: ignore, info: ignore, error: ignore, warn: (_fields, message) => void warnings.push(message) };
}

const allAlive = (members: readonly Member[]): boolean =>
  members.every((m) => members.every((other) => m.swim.member(other.transport.localId)?.state === 'alive'));

describe('UdpSwimTransport', () => {
  it('members join by host:port seeds; probes go by UDP, push-pull by TCP; metadata is gossiped', async () => {
    const [a, b, c] = [await member(), await member(), await member()];
    expect(a.transport.localId).toMatch(/^127\.0\.0\.1:\d+$/);
    await b.swim.join([a.transport.localId]);
    await c.swim.join([a.transport.localId]);
    await eventually(() => allAlive([a, b, c]), 5_000, 'a full view');
    // The views come from the joins' push-pulls; probes follow within a period or two.
    await eventually(() => a.transport.stats.udpReceived > 0, 2_000, 'a probe by UDP');
    expect(a.transport.stats.tcpReceived).toBeGreaterThan(0); // the joins' push-pulls
    expect([a, b, c].every((m) => m.transport.stats.rejected === 0)).toBe(true);
    // Node metadata rides on the alive updates.
    c.swim.setMetadata({ zone: 'eu-1' });
    await eventually(() => a.swim.member(c.transport.localId)?.meta['zone'] === 'eu-1' && b.swim.member(c.transport.localId)?.meta['zone'] === 'eu-1', 5_000, 'the metadata');
  });

  it('a member with the wrong key cannot join, and the seed logs it once', async () => {
    const logger = capturingLogger();
    const seedMember = await member({ logger });
    const intruder = await member({ keyring: new Keyring([Buffer.alloc(32, 9)]) });
    await expect(intruder.swim.join([seedMember.transport.localId], { timeoutMs: 1_500 })).rejects.toBeInstanceOf(JoinFailedError);
    expect(seedMember.swim.member(intruder.transport.localId)).toBeUndefined();
    // The join was retried (every probe period; fewer times when CI stalls the event loop), each one rejected ...
    expect(seedMember.transport.stats.rejected).toBeGreaterThan(1);
    // ... and logged once.
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toMatch(/dropped a message no installed key opens .* from tcp:127\.0\.0\.1 \(logged once per sender\)/);
  });

  it('a member without the keyring cannot join a keyed cluster either', async () => {
    const seedMember = await member();
    const plain = await member({ keyring: undefined });
    await expect(plain.swim.join([seedMember.transport.localId], { timeoutMs: 1_000 })).rejects.toBeInstanceOf(JoinFailedError);
  });

  it('rotates the cluster key while running: every message in every phase opens, and no member is ever suspected', async () => {
    // Probe timeouts far above any event-loop stall a loaded CI machine causes, so a suspicion
    // here can only come from a message that no installed key opened. Gossip every 50 ms keeps
    // traffic flowing through each phase of the rotation.
    const slow = swimConfig('local', { probeIntervalMs: 1_000, probeTimeoutMs: 800, gossipIntervalMs: 50, pushPullIntervalMs: 1_000 });
    const rings = [new Keyring([KEY]), new Keyring([KEY]), new Keyring([KEY])];
    const members = [await member({ keyring: rings[0] }, slow), await member({ keyring: rings[1] }, slow), await member({ keyring: rings[2] }, slow)];
    for (const m of members.slice(1)) await m.swim.join([members[0]!.transport.localId]);
    await eventually(() => allAlive(members), 5_000, 'a full view');
    const received = (): number => members.reduce((sum, m) => sum + m.transport.stats.udpReceived + m.transport.stats.tcpReceived, 0);
    const next = Keyring.generateKey();
    const phases: [string, () => void][] = [
      ['install the new key', () => rings.forEach((ring) => ring.install(next))],
      ['encrypt with the new key', () => rings.forEach((ring) => ring.use(next))],
      ['remove the old key', () => rings.forEach((ring) => ring.remove(KEY))],
    ];
    for (const [phase, step] of phases) {
      step();
      const before = received();
      await eventually(() => received() > before + 10, 5_000, `traffic after "${phase}"`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_200)); // a full probe period on the new key alone
    expect(allAlive(members)).toBe(true);
    expect(members.every((m) => m.transport.stats.rejected === 0)).toBe(true);
    expect(members.flatMap((m) => m.events).filter((e) => e.type !== 'alive')).toEqual([]);
  });

  it('with half of one member\'s UDP datagrams lost, the TCP fallback ping keeps it from being declared dead', async () => {
    async function run(fallback: boolean): Promise<{ suspicions: number; deaths: number; fallbacks: number }> {
      const lossy = lossySocket(await bindUdpSocket('127.0.0.1', 0), { dropRate: 0, random: new SeededRandom(42) });
      const option = fallback ? {} : { tcpFallbackAfterMs: false as const };
      const victim = await member({ socket: lossy, ...option });
      const others = [await member(option), await member(option), await member(option)];
      for (const m of others) await m.swim.join([victim.transport.localId]);
      await eventually(() => allAlive([victim, ...others]), 5_000, 'a full view');
      const before = others.map((m) => m.events.length);
      lossy.dropRate = 0.5;
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      lossy.dropRate = 0;
      const about = others.flatMap((m, i) => m.events.slice(before[i]).filter((e) => e.member.id === victim.transport.localId));
      const result = {
        suspicions: about.filter((e) => e.type === 'suspect').length,
        deaths: about.filter((e) => e.type === 'dead').length,
        fallbacks: others.reduce((sum, m) => sum + m.transport.stats.tcpFallbacks, 0),
      };
      for (const m of running.splice(0)) {
        m.swim.stop();
        await m.transport.close();
      }
      return result;
    }
    const withFallback = await run(true);
    const without = await run(false);
    console.info(`50 % UDP loss on one member for 4 s: with TCP fallback ${JSON.stringify(withFallback)}, without ${JSON.stringify(without)}`);
    expect(withFallback.fallbacks).toBeGreaterThan(0);
    expect(withFallback.deaths).toBe(0);
    // The loss is real: without the fallback the same loss gets the member suspected.
    expect(without.suspicions).toBeGreaterThan(0);
  }, 30_000);
});
