import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { swimDetectionBoundMs } from '@synod/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { swimConfigFromFlags } from '../../src/server/swim-beside-raft.js';
import { logRecords, swimStateRecords } from './log-records.js';
import { freePorts, ProcessCluster, SYNOD_BIN } from './process-cluster.js';

/**
 * Five `synod serve` processes on loopback running SWIM over its own
 * datagram path (`--swim-transport udp`, issue 15): UDP probes and gossip,
 * TCP push-pull and fallback pings, every message sealed with a shared
 * keyring, members joined by `host:port` seeds and named by the Raft id they
 * gossip. A SIGKILLed member is dead at every other within the documented
 * bound; a member with the wrong key cannot join and each member it tries
 * logs it once; keys rotate with SIGHUP; a member that loses 40 % of its
 * datagrams each way is never declared dead, and pings it does not answer by
 * UDP are repeated over TCP. (What the fallback buys is measured by
 * `pnpm bench detection-processes --scenario lossy-member`: without it such a
 * member was suspected 100 times in 3 minutes and refuted each time; with
 * it, never.)
 *
 * Probes every 500 ms and suspicion multiplier 8, as in the peer-transport
 * test (swim-processes.test.ts), for the same reason: a loaded 2-core machine.
 */
const PROBE_MS = 500;
const SUSPICION_MULT = 8;
const LOSS = 0.4;
const LOSSY_WATCH_MS = 30_000;
const IDS = ['n1', 'n2', 'n3', 'n4', 'n5'];
const CONFIG = swimConfigFromFlags({ preset: 'lan', probeIntervalMs: PROBE_MS, suspicionMult: SUSPICION_MULT });
const BOUND_MS = swimDetectionBoundMs(CONFIG, IDS.length);

let cluster: ProcessCluster;
let swimAddress: Map<string, string>;
let strangerAddress: string;
let strangerPort: number;
let keyDir: string;
let goodKeyring: string;
let wrongKeyring: string;
let stranger: { child: ChildProcess; output: string } | undefined;

beforeAll(async () => {
  const ports = await freePorts(IDS.length + 2);
  swimAddress = new Map(IDS.map((id, i) => [id, `127.0.0.1:${ports[i]}`]));
  strangerAddress = `127.0.0.1:${ports[IDS.length]}`;
  strangerPort = ports[IDS.length + 1]!;
  keyDir = mkdtempSync(join(tmpdir(), 'synod-swim-keys-'));
  goodKeyring = join(keyDir, 'cluster.keys');
  wrongKeyring = join(keyDir, 'other.keys');
  writeFileSync(goodKeyring, `${randomBytes(32).toString('base64')}\n`);
  writeFileSync(wrongKeyring, `${randomBytes(32).toString('base64')}\n`);
  const seedsOf = (id: string): string => IDS.filter((other) => other !== id).map((other) => swimAddress.get(other)).join(',');
  cluster = await ProcessCluster.start({
    ids: IDS,
    tickMs: 50,
    extraFlags: ['--swim', 'lan', '--swim-probe-ms', String(PROBE_MS), '--swim-suspicion-mult', String(SUSPICION_MULT), '--swim-transport', 'udp'],
    memberFlags: (id) => ['--swim-listen', swimAddress.get(id)!, '--swim-seeds', seedsOf(id), '--swim-keyring', goodKeyring],
  });
}, 120_000);

afterAll(async () => {
  if (stranger !== undefined && stranger.child.exitCode === null) stranger.child.kill('SIGKILL');
  await cluster?.destroy();
  rmSync(keyDir, { recursive: true, force: true });
}, 30_000);

/** The incarnations in the `swim: <member> is <state>` records member `at` logged after `offset`. */
function swimLines(at: string, member: string, state: string, offset = 0): number[] {
  return swimStateRecords(cluster.output(at).slice(offset), member, state).map((record) => record['incarnation'] as number);
}

/** Polls `condition` every 20 ms (running `between` before each check, if given) until it holds. */
async function waitFor(condition: () => boolean, timeoutMs: number, what: string, between?: () => Promise<void>): Promise<number> {
  const start = Date.now();
  for (;;) {
    await between?.();
    if (condition()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const others = (id: string): string[] => IDS.filter((other) => other !== id);
const offsets = (): Map<string, number> => new Map(IDS.map((id) => [id, cluster.output(id).length]));
const WRONG_KEY_LINE = /swim-udp: dropped a message no installed key opens/g;

describe('SWIM over UDP between five serve processes', () => {
  it('members join through address seeds, sealed with the keyring, and know each other by Raft id', async () => {
    await waitFor(() => IDS.every((id) => others(id).every((other) => swimLines(id, other, 'alive').length > 0)), 30_000, 'a full alive view');
    for (const id of IDS) {
      const listening = logRecords(cluster.output(id)).find((record) => record.msg === 'swim: datagram path listening');
      expect(listening, `${id}'s log`).toMatchObject({ address: swimAddress.get(id), encrypted: true });
      // Members are named by Raft id, with their SWIM address beside it.
      // (Under start-up load a member may first be heard of suspected, or at a later incarnation.)
      for (const other of others(id)) {
        expect(swimStateRecords(cluster.output(id), other, 'alive').map((record) => record['address'])).toContain(swimAddress.get(other));
      }
    }
    // `synod status` shows the datagram path's view by Raft id (asked again
    // while a member answers too late on a loaded machine and is left out).
    const everyPair = IDS.flatMap((v) => IDS.map((m) => `${v}>${m}`)).sort();
    let pairs: string[] = [];
    await waitFor(
      () => pairs.length === everyPair.length,
      30_000,
      'a full status table',
      async () => {
        const out: string[] = [];
        expect(await main(['status', '--endpoints', cluster.endpoints.join(','), '--insecure'], { stdout: (line) => out.push(line), stderr: () => undefined })).toBe(0);
        pairs = out.slice(out.findIndex((line) => line.startsWith('VIEWER')) + 1).map((line) => line.trim().split(/\s+/)).map(([viewer, member]) => `${viewer}>${member}`).sort();
      },
    );
    expect(pairs).toEqual(everyPair);
  }, 90_000);

  it('a member with the wrong key cannot join, and each member it tries logs it once', async () => {
    const before = offsets();
    const seeds = IDS.map((id) => swimAddress.get(id)).join(',');
    const child = spawn(
      process.execPath,
      [
        SYNOD_BIN, 'serve', '--id', 'n6', '--listen', `127.0.0.1:${strangerPort}`, '--insecure', '--data', join(cluster.dir, 'n6'), '--tick-ms', '50',
        '--swim', 'lan', '--swim-probe-ms', String(PROBE_MS), '--swim-transport', 'udp', '--swim-listen', strangerAddress, '--swim-seeds', seeds,
        '--swim-keyring', wrongKeyring,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    stranger = { child, output: '' };
    const keep = (chunk: Buffer): void => {
      stranger!.output += chunk.toString('utf8');
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      // Start-up takes a while on a loaded machine; then its join is retried
      // every 2 s (a push-pull to every seed each time): several attempts.
      await waitFor(() => stranger!.output.includes('n6 serving cluster'), 60_000, 'n6 to start');
      await waitFor(() => IDS.every((id) => cluster.output(id).slice(before.get(id)).match(WRONG_KEY_LINE) !== null), 30_000, 'every member to log the wrong key');
      await new Promise((resolve) => setTimeout(resolve, 6_000));
    } finally {
      // Stopped even when the test fails, or its retries would show up in the next test.
      child.kill('SIGTERM');
      await exited;
    }
    expect(stranger.output).not.toMatch(/swim: joined|swim: n\d is alive/);
    for (const id of IDS) {
      const log = cluster.output(id).slice(before.get(id));
      expect(log.match(WRONG_KEY_LINE), `${id}'s log:\n${log}`).toHaveLength(1);
      expect(log).not.toMatch(/swim: (n6|127\.0\.0\.1:\d+) is/);
    }
  }, 120_000);

  it('keys rotate without a restart: three rounds of editing the keyring file and SIGHUP to every member, and no message is dropped', async () => {
    const before = offsets();
    const [oldKey, newKey] = [readFileSync(goodKeyring, 'utf8').trim(), randomBytes(32).toString('base64')];
    const reloads = (id: string): number => cluster.output(id).slice(before.get(id)).match(/swim: keyring reloaded/g)?.length ?? 0;
    for (const [round, keys] of [[oldKey, newKey], [newKey, oldKey], [newKey]].entries()) {
      writeFileSync(goodKeyring, `${keys.join('\n')}\n`);
      for (const id of IDS) cluster.signal(id, 'SIGHUP');
      await waitFor(() => IDS.every((id) => reloads(id) === round + 1), 10_000, `round ${round + 1} applied everywhere`);
      await new Promise((resolve) => setTimeout(resolve, 2 * PROBE_MS));
    }
    // Probes and gossip under the new key alone.
    await new Promise((resolve) => setTimeout(resolve, 4 * PROBE_MS));
    for (const id of IDS) {
      const log = cluster.output(id).slice(before.get(id));
      expect(log, `${id}'s log`).not.toMatch(new RegExp(WRONG_KEY_LINE.source));
      expect(swimStateRecords(log, '\\S+', 'dead')).toEqual([]);
      expect(cluster.isRunning(id)).toBe(true);
    }
  }, 60_000);

  it(`a SIGKILLed member is dead at every other member within the documented bound (${BOUND_MS} ms)`, async () => {
    const before = offsets();
    await cluster.stopMember('n4', 'SIGKILL');
    const killedAt = Date.now();
    const detectedAfter = new Map<string, number>();
    await waitFor(
      () => {
        for (const id of others('n4')) {
          if (!detectedAfter.has(id) && swimLines(id, 'n4', 'dead', before.get(id)).length > 0) detectedAfter.set(id, Date.now() - killedAt);
        }
        return detectedAfter.size === 4;
      },
      BOUND_MS + 5_000,
      'n4 dead everywhere',
    );
    console.info(`UDP SIGKILL → dead: ${[...detectedAfter].map(([id, ms]) => `${id} ${ms} ms`).join(', ')} (bound ${BOUND_MS} ms)`);
    for (const ms of detectedAfter.values()) expect(ms).toBeLessThanOrEqual(BOUND_MS);
    for (const id of others('n4')) {
      const falseVerdicts = others('n4').filter((other) => swimLines(id, other, 'dead', before.get(id)).length > 0);
      expect(falseVerdicts, `${id} declared healthy members dead`).toEqual([]);
    }
  }, 60_000);

  it(`restarted losing ${LOSS * 100} % of its datagrams each way, it rejoins with a higher incarnation, and with the TCP fallback it is never declared dead`, async () => {
    const before = offsets();
    await cluster.startMember('n4', ['--inject-udp-loss', String(LOSS)]);
    await waitFor(() => others('n4').every((id) => swimLines(id, 'n4', 'alive', before.get(id)).some((incarnation) => incarnation > 0)), 30_000, 'n4 alive again everywhere');
    const watchFrom = offsets();
    await new Promise((resolve) => setTimeout(resolve, LOSSY_WATCH_MS));
    for (const id of IDS) {
      expect(swimLines(id, '.+?', 'dead', before.get(id)), `${id} declared someone dead:\n${cluster.output(id).slice(before.get(id))}`).toEqual([]);
    }
    // Suspicions are printed, not asserted: the fallback ping leaves 100 ms
    // after the UDP one and its ack counts until the end of the 500 ms probe
    // period, which a machine at a load average of 30 does not always give
    // (22 in 30 s there). The bench's lossy-member rows compare with the
    // fallback off.
    const suspicions = others('n4').reduce((total, id) => total + swimLines(id, 'n4', 'suspect', watchFrom.get(id)).length, 0);
    console.info(`suspicions of the lossy n4 in ${LOSSY_WATCH_MS} ms: ${suspicions} (load average ${loadavg()[0]!.toFixed(1)})`);
    // The fallback did the work: stop n1 and n4 gracefully to read their datagram-path stats.
    const stats = async (id: string): Promise<Record<string, number>> => {
      const offset = cluster.output(id).length;
      await cluster.stopMember(id, 'SIGTERM');
      const record = logRecords(cluster.output(id).slice(offset)).find((candidate) => candidate.msg === 'swim: datagram path stats');
      return Object.fromEntries(Object.entries(record ?? {}).filter((entry): entry is [string, number] => typeof entry[1] === 'number'));
    };
    const lossy = await stats('n4');
    const healthy = await stats('n1');
    console.info(`lossy n4: ${JSON.stringify(lossy)}; n1: ${JSON.stringify(healthy)}`);
    expect(lossy['injectedDrops']).toBeGreaterThan(0);
    expect(lossy['tcpFallbacks']! + healthy['tcpFallbacks']!).toBeGreaterThan(0);
  }, 120_000);
});
