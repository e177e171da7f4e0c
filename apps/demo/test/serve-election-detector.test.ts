import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PhiAccrualDetector, type AvailabilityChange, type FailureDetector } from '@synod/core';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { electionDetectorSettings, electionPhiDetector, LateFailureDetector } from '../src/server/election-detector.js';

const scratch = mkdtempSync(join(tmpdir(), 'synod-election-detector-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function capture(): { io: { stdout: (l: string) => void; stderr: (l: string) => void }; err: string[] } {
  const err: string[] = [];
  return { io: { stdout: () => undefined, stderr: (l) => err.push(l) }, err };
}

const serve = ['serve', '--id', 'n1', '--listen', '127.0.0.1:1', '--insecure'];

describe('synod serve --election-detector: bad flags', () => {
  it.each([
    [['--election-detector', 'oracle'], /--election-detector must be off, phi or swim, got 'oracle'/],
    [['--election-detector', 'swim', '--swim', 'off'], /--election-detector swim needs SWIM: drop --swim off/],
    [['--leader-pause-ms', '300'], /--leader-pause-ms applies to detector-assisted elections/],
    [['--election-detector', 'phi', '--leader-pause-ms', 'long'], /--leader-pause-ms must be/],
    [['--election-detector', 'phi', '--leader-pause-ms=-5'], /--leader-pause-ms must be/],
    [['--algorithm', 'paxos', '--election-detector', 'phi', '--leader-pause-ms', '300'], /--leader-pause-ms is a Raft option/],
  ])('%j exits 64 with a message', async (flags, message) => {
    const { io, err } = capture();
    expect(await main([...serve, '--data', join(scratch, 'data'), ...flags], io)).toBe(64);
    expect(err.join('\n')).toMatch(message);
    expect(err.join('\n')).not.toMatch(/\n\s+at /);
  });
});

describe('electionDetectorSettings', () => {
  it('defaults to SWIM when SWIM has its own datagram path, and to the election timeout alone otherwise', () => {
    expect(electionDetectorSettings({}, { running: true, overUdp: true })).toEqual({ kind: 'swim', toleratedLeaderPauseMs: undefined });
    expect(electionDetectorSettings({}, { running: true, overUdp: false })).toEqual({ kind: 'off', toleratedLeaderPauseMs: undefined });
    expect(electionDetectorSettings({}, { running: false, overUdp: false })).toEqual({ kind: 'off', toleratedLeaderPauseMs: undefined });
  });

  it('takes an explicit detector and pause', () => {
    expect(electionDetectorSettings({ 'election-detector': 'phi', 'leader-pause-ms': '400' }, { running: false, overUdp: false })).toEqual({
      kind: 'phi',
      toleratedLeaderPauseMs: 400,
    });
    expect(electionDetectorSettings({ 'election-detector': 'off' }, { running: true, overUdp: true }).kind).toBe('off');
  });
});

describe('electionPhiDetector', () => {
  it('suspects a leader whose per-tick heartbeats stop within a few ticks, and not while they arrive', () => {
    const tickMs = 100;
    const phi = electionPhiDetector(tickMs);
    for (let t = 0; t <= 3_000; t += tickMs) phi.heartbeat('n2', t);
    expect(phi.isAvailable('n2', 3_000 + tickMs)).toBe(true);
    expect(phi.isAvailable('n2', 3_000 + 5 * tickMs)).toBe(false);
  });
});

describe('LateFailureDetector', () => {
  it('answers available until a detector is attached, then forwards verdicts, heartbeats and changes', () => {
    const late = new LateFailureDetector();
    const changes: AvailabilityChange[] = [];
    late.onChange((change) => changes.push(change));
    late.heartbeat('n2', 0); // dropped: nothing attached yet
    expect(late.isAvailable('n2', 60_000)).toBe(true);

    const target: FailureDetector = new PhiAccrualDetector({ threshold: 8, minStdDeviationMs: 20, firstHeartbeatEstimateMs: 100 });
    late.attach(target);
    for (let t = 0; t <= 2_000; t += 100) late.heartbeat('n2', t);
    expect(late.isAvailable('n2', 2_100)).toBe(true);
    expect(late.isAvailable('n2', 5_000)).toBe(false);
    late.check(5_000);
    expect(changes.map((c) => [c.peer, c.available])).toEqual([['n2', false]]);
    expect(() => late.attach(target)).toThrow(/attached already/);

    late.detach();
    late.heartbeat('n2', 5_100);
    late.check(9_000);
    expect(changes).toHaveLength(1);
  });
});
