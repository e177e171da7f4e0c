import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SynodClient } from '@synod/transport-grpc';
import { freePorts, ProcessCluster } from './process-cluster.js';

/**
 * The operations surface of `synod serve` on three real processes: every
 * stderr line is a JSON log record carrying the node id, and
 * `--metrics-listen` serves Prometheus metrics whose term rises after the
 * leader is killed.
 */

let cluster: ProcessCluster;
let client: SynodClient;
const metricsPort = new Map<string, number>();

beforeAll(async () => {
  const ports = await freePorts(3);
  ['n1', 'n2', 'n3'].forEach((id, i) => metricsPort.set(id, ports[i]!));
  cluster = await ProcessCluster.start({
    tickMs: 50,
    extraFlags: ['--log-level', 'debug'],
    memberFlags: (id) => ['--metrics-listen', `127.0.0.1:${metricsPort.get(id)}`],
  });
  client = cluster.client();
}, 120_000);

afterAll(async () => {
  client?.close();
  await cluster?.destroy();
}, 30_000);

async function scrape(id: string): Promise<{ contentType: string; text: string }> {
  const response = await fetch(`http://127.0.0.1:${metricsPort.get(id)}/metrics`);
  expect(response.status).toBe(200);
  return { contentType: response.headers.get('content-type') ?? '', text: await response.text() };
}

/** The value of the first sample of `name` whose labels include `labels` (e.g. `peer="n2"`). */
function sample(text: string, name: string, labels = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-z_:]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name || !(match[2] ?? '').includes(labels)) continue;
    return Number(match[3]);
  }
  return undefined;
}

/** Every stderr line of a member: the output minus serve's own `synod serve:` status lines on stdout. */
function logLines(id: string): string[] {
  return cluster
    .output(id)
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('synod serve:'));
}

describe('synod serve operations: logs and metrics', () => {
  it('serves Prometheus metrics with the documented names and types, and the term rises after the leader is killed', async () => {
    const leader = await cluster.waitForLeader(client);
    for (let i = 0; i < 10; i++) await client.put(`ops/${i}`, `v${i}`);
    expect((await client.get('ops/3')).kv?.value).toBe('v3');

    const { contentType, text } = await scrape(leader);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const types: Record<string, string> = {
      synod_raft_role: 'gauge',
      synod_raft_term: 'gauge',
      synod_raft_commit_index: 'gauge',
      synod_raft_applied_index: 'gauge',
      synod_raft_proposals_total: 'counter',
      synod_raft_proposal_duration_seconds: 'histogram',
      synod_raft_read_duration_seconds: 'histogram',
      synod_storage_fsync_duration_seconds: 'histogram',
      synod_transport_sent_messages_total: 'counter',
      synod_transport_sent_bytes_total: 'counter',
      synod_raft_snapshots_total: 'counter',
      synod_raft_elections_total: 'counter',
      synod_detector_suspicions_total: 'counter',
      synod_detector_phi: 'gauge',
    };
    for (const [name, type] of Object.entries(types)) expect(text, name).toContain(`# TYPE ${name} ${type}`);
    expect(sample(text, 'synod_raft_role', 'role="leader"')).toBe(1);
    expect(sample(text, 'synod_raft_role', 'role="follower"')).toBe(0);
    expect(sample(text, 'synod_raft_commit_index')).toBeGreaterThanOrEqual(10);
    expect(sample(text, 'synod_raft_proposals_total', 'outcome="ok"')).toBeGreaterThanOrEqual(10);
    expect(sample(text, 'synod_raft_proposal_duration_seconds_count', 'outcome="ok"')).toBeGreaterThanOrEqual(10);
    expect(sample(text, 'synod_storage_fsync_duration_seconds_count')).toBeGreaterThan(0);
    const other = cluster.ids.find((id) => id !== leader)!;
    expect(sample(text, 'synod_transport_sent_bytes_total', `peer="${other}"`)).toBeGreaterThan(0);
    expect(sample(text, 'synod_transport_sent_messages_total', `peer="${other}"`)).toBeGreaterThan(0);

    const termBefore = sample(text, 'synod_raft_term')!;
    await cluster.stopMember(leader, 'SIGKILL');
    await client.put('ops/after-kill', 'x');
    const survivor = await cluster.waitForLeader(client);
    const after = (await scrape(survivor)).text;
    expect(sample(after, 'synod_raft_term')).toBeGreaterThan(termBefore);
    expect(sample(after, 'synod_raft_role', 'role="leader"')).toBe(1);
    // The new leader became a candidate to win its term.
    expect(sample(after, 'synod_raft_elections_total')).toBeGreaterThan(0);
  }, 120_000);

  it('every log line is one JSON record carrying the node id, and elections are logged', () => {
    const records = cluster.ids.flatMap((id) =>
      logLines(id).map((line) => {
        const record = JSON.parse(line) as { node?: string; level?: number; msg?: string };
        expect(record.node, line).toBe(id);
        expect(typeof record.level).toBe('number');
        return record;
      }),
    );
    const messages = records.map((record) => record.msg);
    expect(messages).toContain('synod server started');
    expect(messages).toContain('became leader');
    expect(messages).toContain('election started');
    expect(messages.some((m) => m !== undefined && m.startsWith('metrics on http://127.0.0.1:'))).toBe(true);
  });

  it('without --fault-hooks Cluster/SetLinkFaults is refused with FAILED_PRECONDITION, and Status carries the snapshot index', async () => {
    const running = cluster.ids.find((id) => cluster.isRunning(id))!;
    const refused = await client.setLinkFaults(cluster.endpointOf(running), [{ peerId: 'nx', drop: true, delayMs: 0 }]).catch((error: unknown) => error);
    expect(refused).toMatchObject({ grpcCode: 9, reason: 'FAULT_HOOKS_OFF' });
    expect((refused as Error).message).toMatch(/--fault-hooks/);
    const status = await client.memberStatus(cluster.endpointOf(running));
    expect(status.snapshotIndex).toBeGreaterThanOrEqual(0);
    expect(status.snapshotIndex).toBeLessThanOrEqual(status.appliedIndex);
  });
});
