import { describe, expect, it } from 'vitest';
import {
  pushPullInterval,
  retransmitLimit,
  suspicionTimeout,
  SWIM_LAN,
  swimConfig,
  swimDetectionBoundMs,
} from '../../src/detection/swim-config.js';
import { InvalidArgumentError } from '../../src/errors/errors.js';
import { SwimCluster } from './swim-cluster.js';

describe('swimConfig', () => {
  it('has memberlist LAN defaults', () => {
    expect(swimConfig()).toMatchObject({
      probeIntervalMs: 1000,
      probeTimeoutMs: 500,
      indirectChecks: 3,
      retransmitMult: 4,
      suspicionMult: 4,
      suspicionMaxTimeoutMult: 6,
      pushPullIntervalMs: 30_000,
      gossipIntervalMs: 200,
      gossipNodes: 3,
      awarenessMaxMultiplier: 8,
      lifeguard: true,
    });
  });

  it('has WAN and local presets, and applies overrides', () => {
    expect(swimConfig('wan')).toMatchObject({ probeIntervalMs: 5000, probeTimeoutMs: 3000, suspicionMult: 6 });
    expect(swimConfig('local')).toMatchObject({ probeTimeoutMs: 200, indirectChecks: 1, suspicionMult: 3 });
    expect(swimConfig('lan', { lifeguard: false }).lifeguard).toBe(false);
    expect(SWIM_LAN.lifeguard).toBe(true);
  });

  it('rejects inconsistent values', () => {
    expect(() => swimConfig('lan', { probeTimeoutMs: 1000 })).toThrow(InvalidArgumentError);
    expect(() => swimConfig('lan', { indirectChecks: -1 })).toThrow(InvalidArgumentError);
    expect(() => swimConfig('lan', { awarenessMaxMultiplier: 0 })).toThrow(InvalidArgumentError);
    expect(() => swimConfig('lan', { gossipIntervalMs: Number.NaN })).toThrow(InvalidArgumentError);
  });
});

describe('SWIM scaling formulas', () => {
  it('retransmit limit = mult · ceil(log10(N + 1))', () => {
    expect(retransmitLimit(4, 1)).toBe(4);
    expect(retransmitLimit(4, 9)).toBe(4);
    expect(retransmitLimit(4, 10)).toBe(8);
    expect(retransmitLimit(4, 1000)).toBe(16);
  });

  it('suspicion timeout = mult · max(1, log10(N)) · interval', () => {
    expect(suspicionTimeout(4, 1, 1000)).toBe(4000);
    expect(suspicionTimeout(4, 5, 1000)).toBe(4000);
    expect(suspicionTimeout(4, 100, 1000)).toBe(8000);
    expect(suspicionTimeout(4, 1000, 1000)).toBe(12000);
  });

  it('push-pull interval grows with log2 of the size above 32 members', () => {
    expect(pushPullInterval(30_000, 32)).toBe(30_000);
    expect(pushPullInterval(30_000, 33)).toBe(60_000);
    expect(pushPullInterval(30_000, 64)).toBe(60_000);
    expect(pushPullInterval(30_000, 1000)).toBe(30_000 * 6);
  });
});

describe('swimDetectionBoundMs', () => {
  it('adds the probe rounds, the longest suspicion and two gossip periods', () => {
    expect(swimDetectionBoundMs(swimConfig('lan'), 5)).toBe(9_000 + 24_000 + 2_000);
    expect(swimDetectionBoundMs(swimConfig('lan', { lifeguard: false }), 5)).toBe(9_000 + 4_000 + 2_000);
  });

  it('holds in simulation: a crashed member is dead everywhere within the bound', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const cluster = new SwimCluster({ size: 5, seed, config: swimConfig('lan') });
      await cluster.joinAll();
      cluster.net.crash('n4');
      cluster.node('n4').stop();
      const elapsed = cluster.runUntil(() => [...cluster.viewsOf('n4').values()].every((s) => s === 'dead'), 120_000);
      expect(elapsed).toBeLessThanOrEqual(swimDetectionBoundMs(cluster.config, 5));
    }
  });
});
