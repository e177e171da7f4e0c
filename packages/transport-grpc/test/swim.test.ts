import { SeededRandom, SwimNode, swimConfig, systemClock, type MemberState } from '@synod/core';
import { raftPayloadCodec, swimPayloadCodec } from '@synod/protocol';
import { describe, expect, it } from 'vitest';
import { closeAll, eventually, introduce, startTransport } from './helpers.js';

// All four members share this process's event loop, so a stall on a loaded CI
// machine delays every ack at once: the suspicion timeout (6 × 250 ms, at
// most twice that) is kept well above such stalls, so that a healthy member
// refutes in time, and a crashed one is still dead within a few seconds.
const CONFIG = swimConfig('local', {
  probeIntervalMs: 250,
  probeTimeoutMs: 100,
  gossipIntervalMs: 30,
  pushPullIntervalMs: 1_000,
  suspicionMult: 6,
  suspicionMaxTimeoutMult: 2,
});

describe('SwimNode over GrpcTransport (swimPayloadCodec)', () => {
  it('four members join through one seed, then all mark a crashed member dead', async () => {
    const ids = ['s1', 's2', 's3', 's4'];
    const transports = await Promise.all(ids.map((id) => startTransport(id, { payloadCodecs: { raft: raftPayloadCodec, swim: swimPayloadCodec } })));
    introduce(transports);
    const swims = transports.map(
      (transport, i) => new SwimNode({ transport, clock: systemClock, random: new SeededRandom(i + 1), clusterId: 'test-cluster', config: CONFIG, attachHandler: true }),
    );
    const view = (at: number, of: string): MemberState | undefined => swims[at]!.member(of)?.state;
    const deadVerdicts: string[] = [];
    for (const swim of swims) swim.on('dead', ({ member }) => deadVerdicts.push(member.id));
    try {
      for (const swim of swims) swim.start();
      await Promise.all(swims.slice(1).map((swim) => swim.join(['s1'], { timeoutMs: 5_000 })));
      await eventually(() => swims.every((swim) => ids.every((id) => swim.member(id)?.state === 'alive')), 5_000, 'a full alive view');

      swims[3]!.stop();
      await transports[3]!.close();
      await eventually(() => [0, 1, 2].every((at) => view(at, 's4') === 'dead'), 10_000, 's4 dead everywhere');
      // A healthy member may be suspected for a moment on a loaded machine and
      // refute; it must never be declared dead, and ends up alive everywhere.
      expect(deadVerdicts.filter((id) => id !== 's4')).toEqual([]);
      await eventually(() => [0, 1, 2].every((at) => ids.slice(0, 3).every((id) => view(at, id) === 'alive')), 5_000, 'healthy members alive');
      expect(swims.slice(0, 3).every((swim) => swim.stats.dropped === 0)).toBe(true);
    } finally {
      for (const swim of swims) swim.stop();
      await closeAll(transports);
    }
  });
});
