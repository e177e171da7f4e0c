import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeFileSystem } from '@synod/core';
import { afterAll, describe, expect, it } from 'vitest';
import { observeNodeCalls, type FinishedCall } from '../src/server/node-calls.js';
import { runServe } from '../src/server/serve.js';
import { createServeLogger, logFormatFlag } from '../src/server/serve-logger.js';
import { ServeMetrics } from '../src/server/serve-metrics.js';
import { timedFileSystem } from '../src/server/timed-file-system.js';

const scratch = mkdtempSync(join(tmpdir(), 'synod-ops-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('serve logger', () => {
  it('writes one JSON record per line with the node and cluster ids, below the level nothing', () => {
    const lines: string[] = [];
    const logger = createServeLogger({ write: (line) => lines.push(line), level: 'info', format: 'json', nodeId: 'n7', clusterId: 'blue' });
    logger.debug({ detail: 1 }, 'hidden');
    logger.info({ term: 3 }, 'became leader');
    logger.error({ err: new Error('disk gone') }, 'raft node error');
    expect(lines).toHaveLength(2);
    const [leader, failure] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(leader).toMatchObject({ level: 30, node: 'n7', cluster: 'blue', term: 3, msg: 'became leader' });
    expect(failure).toMatchObject({ level: 50, node: 'n7', msg: 'raft node error', err: { message: 'disk gone', type: 'Error' } });
  });

  it('pretty format writes readable lines, not JSON', () => {
    const lines: string[] = [];
    const logger = createServeLogger({ write: (line) => lines.push(line), level: 'info', format: 'pretty', nodeId: 'n1', clusterId: 'c' });
    logger.warn({ peer: 'n2' }, 'peer stream failed');
    const text = lines.join('\n');
    expect(lines).toHaveLength(1);
    expect(text).toContain('n1: peer stream failed');
    expect(text).toContain('"peer":"n2"');
    expect(() => JSON.parse(lines[0]!)).toThrow();
  });

  it('--log-format auto is pretty on a terminal and JSON otherwise', () => {
    expect(logFormatFlag(undefined, true)).toBe('pretty');
    expect(logFormatFlag('auto', false)).toBe('json');
    expect(logFormatFlag('json', true)).toBe('json');
    expect(logFormatFlag('pretty', false)).toBe('pretty');
  });
});

describe('serve metrics pieces', () => {
  it('timedFileSystem reports every sync with its duration, failed ones too', async () => {
    let clock = 0;
    const seen: number[] = [];
    const failing = { ...nodeFileSystem, fdatasyncSync: () => ((clock += 3), undefined), fdatasync: async () => { clock += 5; throw new Error('EIO'); } };
    const fs = timedFileSystem(failing, (seconds) => seen.push(seconds), () => clock);
    fs.fdatasyncSync(1);
    await expect(fs.fdatasync(1)).rejects.toThrow('EIO');
    expect(seen).toEqual([0.003, 0.005]);
  });

  it('observeNodeCalls times proposals and reads with their outcome and consistency', async () => {
    let clock = 0;
    const node = {
      async propose(command: Uint8Array) {
        clock += 20;
        if (command.length === 0) throw new Error('dropped');
        return 'ok';
      },
      async read(_query: unknown, _options?: unknown) {
        clock += 2;
        return 'value';
      },
    };
    const calls: FinishedCall[] = [];
    const restore = observeNodeCalls(node, (call) => calls.push(call), () => clock);
    expect(await node.propose(new Uint8Array([1]))).toBe('ok');
    await expect(node.propose(new Uint8Array())).rejects.toThrow('dropped');
    expect(await node.read({}, { consistency: 'lease' })).toBe('value');
    restore();
    await node.propose(new Uint8Array([1]));
    expect(calls).toEqual([
      { kind: 'proposal', seconds: 0.02 },
      { kind: 'proposal', seconds: 0.02, error: new Error('dropped') },
      { kind: 'read', seconds: 0.002, consistency: 'lease' },
    ]);
  });

  it('ServeMetrics reports the node, the transport per peer and the detector at scrape time', async () => {
    const events = new EventEmitter();
    const metrics = new ServeMetrics();
    const status = { role: 'candidate', term: 7, commitIndex: 40, appliedIndex: 39, lastIndex: 41, pendingProposals: 2 };
    metrics.attachNode({ status: () => status, on: (event: string, listener: (e: never) => void) => events.on(event, listener as (...args: unknown[]) => void) });
    metrics.attachTransport({ stats: () => ({ peers: new Map([['n2', { envelopesSent: 12, bytesSent: 3400 }]]) }) });
    metrics.attachDetector(() => [
      { id: 'n1', state: 'alive', phi: undefined },
      { id: 'n2', state: 'suspect', phi: 4.5 },
    ]);
    events.emit('role', { role: 'candidate' });
    events.emit('snapshot', { index: 30 });
    metrics.suspected('n2');
    metrics.observeCall({ kind: 'read', seconds: 0.004, consistency: 'serializable' });
    const text = await metrics.registry.metrics();
    expect(text).toContain('synod_raft_role{role="candidate"} 1');
    expect(text).toContain('synod_raft_term 7');
    expect(text).toContain('synod_raft_applied_index 39');
    expect(text).toContain('synod_raft_elections_total 1');
    expect(text).toContain('synod_raft_snapshots_total 1');
    expect(text).toContain('synod_transport_sent_bytes_total{peer="n2"} 3400');
    expect(text).toContain('synod_transport_sent_messages_total{peer="n2"} 12');
    expect(text).toContain('synod_detector_phi{peer="n2"} 4.5');
    expect(text).toContain('synod_detector_member_alive{peer="n2"} 0');
    expect(text).toContain('synod_detector_suspicions_total{peer="n2"} 1');
    expect(text).toContain('synod_raft_read_duration_seconds_count{consistency="serializable",outcome="ok"} 1');
    // Scraped twice, the transport counters mirror the totals instead of adding them up again.
    expect(await metrics.registry.metrics()).toContain('synod_transport_sent_bytes_total{peer="n2"} 3400');
  });
});

describe('synod serve with the operations flags', () => {
  it('logs pretty when stderr is a terminal, and serves /metrics on --metrics-listen', async () => {
    const signals = new EventEmitter();
    const err: string[] = [];
    let announce: (address: string) => void = () => undefined;
    const serving = new Promise<string>((resolve) => (announce = resolve));
    const io = {
      stdout: (line: string) => {
        if (line.includes('serving cluster')) announce(line);
      },
      stderr: (line: string) => err.push(line),
      terminal: { isTTY: true, write: () => true },
    };
    const exit = runServe(['--id', 'n1', '--listen', '127.0.0.1:0', '--data', join(scratch, 'pretty'), '--insecure', '--swim', 'off', '--metrics-listen', '127.0.0.1:0'], io, signals);
    await serving;
    const address = /metrics on http:\/\/(\S+)\/metrics/.exec(err.join('\n'))?.[1];
    expect(address).toBeDefined();
    const response = await fetch(`http://${address}/metrics`);
    expect(await response.text()).toContain('# TYPE synod_raft_term gauge');
    expect((await fetch(`http://${address}/other`)).status).toBe(404);
    signals.emit('SIGTERM');
    expect(await exit).toBe(0);
    expect(err.some((line) => line.includes('--insecure'))).toBe(true);
    expect(err.every((line) => !line.startsWith('{'))).toBe(true);
  });

  it('exits 1 with one clear line when the metrics port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const err: string[] = [];
    const code = await runServe(
      ['--id', 'n1', '--listen', '127.0.0.1:0', '--data', join(scratch, 'taken'), '--insecure', '--swim', 'off', '--metrics-listen', `127.0.0.1:${port}`],
      { stdout: () => undefined, stderr: (line) => err.push(line) },
      new EventEmitter(),
    );
    blocker.close();
    expect(code).toBe(1);
    expect(err.join('\n')).toMatch(new RegExp(`cannot serve metrics on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
  });
});
