import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SynodClient, synodProtoDir } from '@synod/transport-grpc';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ProcessCluster } from './process-cluster.js';

/**
 * A Python client, its stubs generated here from the published .proto files
 * with grpc_tools.protoc, runs Put, Get, CompareAndSwap, Watch and Status
 * against three `synod serve` processes. It needs Debian's python3-grpcio
 * and python3-grpc-tools for /usr/bin/python3: installed here when missing
 * and running as root (tools/scripts/system-deps.txt lists them for
 * `npm run test:all`); otherwise the test says what to install.
 */

const PYTHON = '/usr/bin/python3';
const PACKAGES = ['python3-grpcio', 'python3-grpc-tools'];
const CLIENT = fileURLToPath(new URL('./fixtures/polyglot_client.py', import.meta.url));

function pythonHasGrpc(): boolean {
  return spawnSync(PYTHON, ['-c', 'import grpc, grpc_tools.protoc'], { encoding: 'utf8' }).status === 0;
}

function ensurePythonGrpc(): void {
  if (pythonHasGrpc()) return;
  const root = process.getuid?.() === 0;
  const aptGet = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0;
  if (!root || !aptGet) {
    throw new Error(`the polyglot test needs ${PYTHON} with gRPC: install the Debian packages ${PACKAGES.join(' ')} (sudo apt-get install -y ${PACKAGES.join(' ')})`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore' });
  const install = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...PACKAGES], { env, encoding: 'utf8' });
  if (install.status !== 0 || !pythonHasGrpc()) throw new Error(`apt-get install -y ${PACKAGES.join(' ')} failed:\n${install.stderr}`);
}

let cluster: ProcessCluster;
let generated: string;

beforeAll(async () => {
  ensurePythonGrpc();
  generated = mkdtempSync(join(tmpdir(), 'synod-python-'));
  const protoc = spawnSync(
    PYTHON,
    ['-m', 'grpc_tools.protoc', '-I', synodProtoDir(), `--python_out=${generated}`, `--grpc_python_out=${generated}`, 'synod/kv/v1/kv.proto', 'synod/cluster/v1/cluster.proto'],
    { encoding: 'utf8' },
  );
  if (protoc.status !== 0) throw new Error(`grpc_tools.protoc failed:\n${protoc.stderr}`);
  cluster = await ProcessCluster.start({ tickMs: 50, extraFlags: ['--watch-history', '4'] });
}, 120_000);

afterAll(async () => {
  await cluster?.destroy();
  if (generated !== undefined) rmSync(generated, { recursive: true, force: true });
}, 30_000);

it('a Python client generated from the .proto files runs Put, Get, CompareAndSwap, Watch and Status', async () => {
  const client = new SynodClient({ endpoints: cluster.endpoints, security: { insecure: true } });
  try {
    const leader = await cluster.waitForLeader(client);
    // Six revisions first, so that with a watch history of 4 revision 1 is compacted.
    for (let i = 0; i < 6; i++) await client.put(`ts/${i}`, String(i));
    // Any member answers; a follower forwards the writes.
    const follower = cluster.ids.find((id) => id !== leader)!;
    const run = spawnSync(PYTHON, [CLIENT, generated, cluster.endpointOf(follower)], { encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    const report = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    expect(report).toMatchObject({ ok: true, member: follower, role: 'ROLE_FOLLOWER', leader, revision: 8, compacted_watch: 'OUT_OF_RANGE' });
    expect(run.status).toBe(0);
    // What Python wrote, TypeScript reads; and the TypeScript watch from a compacted revision ends the same way.
    expect((await client.get('py/greeting')).kv?.value).toBe('bonjour');
    const watching = client.watch('py/', { prefix: true, startRevision: 1 });
    await expect(watching.next()).rejects.toMatchObject({ reason: 'WATCH_COMPACTED', grpcCode: 11 });
  } finally {
    client.close();
  }
}, 120_000);
