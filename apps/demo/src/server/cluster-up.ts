import { parseArgs } from 'node:util';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCertificateAuthority, createClientCertificate, createNodeCertificate } from '@synod/transport-grpc/certificates';
import { NatsServer } from '@synod/transport-nats/nats-server';
import type { ConsensusAlgorithm } from '@synod/protocol';
import { algorithmFlag } from './algorithm-flag.js';
import { asUsage, EXIT_USAGE, integerFlag, transportFlag, UsageError, type CommandIo } from './flags.js';
import { StartupProgress } from './startup-progress.js';

const USAGE = 'usage: synod cluster up [--nodes 3] [--algorithm raft|paxos] [--transport grpc|nats] [--nats-url URL] [--base-port 7001] [--data ./synod-data] [--insecure]';

const HELP = `${USAGE}

Starts a local cluster: one 'synod serve' process per node on 127.0.0.1,
ports base-port, base-port+1, …, each with its data directory under --data.
Unless --insecure, it first makes a CA, a certificate per node and a client
certificate in DATA/tls (mutual TLS). Prints the endpoints and the commands
to use them; Ctrl-C stops every node.

options:
  --nodes K          voters, 1 to 9 (default 3)
  --base-port P      port of n1 (default 7001)
  --data DIR         where the nodes' data and tls/ go (default ./synod-data)
  --cluster-id ID    default synod
  --insecure         plaintext, no certificates (gRPC)
  --transport T      grpc (default) or nats: the nodes talk through NATS
  --nats-url URL     with nats: the NATS server to use; without it a nats-server
                     of its own is started on a free loopback port (the
                     nats-server binary must be installed)
  --tick-ms N        passed to every serve (default 100)
  --algorithm A      raft (default) or paxos, passed to every serve
  -h, --help         this text`;

/**
 * The `bin.js` next to this module's directory (dist/bin.js). Run from the
 * TypeScript sources (the tests), it is the built one in dist/.
 */
function synodBin(): string {
  const fromSource = import.meta.url.endsWith('.ts');
  return fileURLToPath(new URL(fromSource ? '../../dist/bin.js' : '../bin.js', import.meta.url));
}

function prefixLines(stream: NodeJS.ReadableStream | null, write: (line: string) => void, prefix: string, then: (line: string) => void): void {
  let rest = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      write(`[${prefix}] ${line}`);
      then(line);
    }
  });
}

/**
 * `synod cluster up`: spawns the serve processes, makes certificates first,
 * prints the endpoints, and stops them all on SIGINT/SIGTERM.
 */
export async function runClusterUp(argv: readonly string[], io: CommandIo, signals: NodeJS.EventEmitter = process): Promise<number> {
  let config: ClusterConfig & { readonly basePort: number; readonly insecure: boolean; readonly transport: 'grpc' | 'nats' };
  try {
    const { values, positionals } = asUsage(() =>
      parseArgs({
        args: [...argv],
        strict: true,
        allowPositionals: true,
        options: {
          nodes: { type: 'string' },
          'base-port': { type: 'string' },
          data: { type: 'string' },
          'cluster-id': { type: 'string' },
          insecure: { type: 'boolean' },
          transport: { type: 'string' },
          'nats-url': { type: 'string' },
          'tick-ms': { type: 'string' },
          algorithm: { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
      }),
    );
    if (values.help === true) {
      io.stdout(HELP);
      return 0;
    }
    if (positionals[0] !== 'up' || positionals.length !== 1) throw new UsageError(`the cluster command is 'synod cluster up', got '${positionals.join(' ')}'`);
    const nodes = integerFlag(values.nodes, '--nodes', 3, 1, 9);
    const basePort = integerFlag(values['base-port'], '--base-port', 7001, 1, 65535 - nodes + 1);
    config = {
      nodes,
      basePort,
      data: resolve(values.data ?? './synod-data'),
      clusterId: values['cluster-id'] ?? 'synod',
      insecure: values.insecure === true,
      transport: transportFlag(values.transport),
      natsUrl: values['nats-url'],
      tickMs: integerFlag(values['tick-ms'], '--tick-ms', 100, 1, 10_000),
      algorithm: algorithmFlag(values.algorithm),
    };
    if (config.transport === 'grpc' && config.natsUrl !== undefined) throw new UsageError('--nats-url needs --transport nats');
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`synod cluster: ${error.message}`);
    io.stderr(USAGE);
    return EXIT_USAGE;
  }

  const ids = Array.from({ length: config.nodes }, (_, i) => `n${i + 1}`);
  if (config.transport === 'nats') return runNatsCluster(config, ids, io, signals);
  const address = (i: number): string => `127.0.0.1:${config.basePort + i}`;
  const endpoints = ids.map((_, i) => address(i)).join(',');
  const tlsDir = join(config.data, 'tls');
  let connectFlags = '--insecure';
  if (!config.insecure) {
    mkdirSync(tlsDir, { recursive: true });
    const ca = await createCertificateAuthority({ commonName: `Synod ${config.clusterId} CA` });
    writeFileSync(join(tlsDir, 'ca.crt'), ca.certPem);
    writeFileSync(join(tlsDir, 'ca.key'), ca.keyPem, { mode: 0o600 });
    for (const id of ids) {
      const issued = await createNodeCertificate(ca, { clusterId: config.clusterId, nodeId: id });
      writeFileSync(join(tlsDir, `${id}.crt`), issued.certPem);
      writeFileSync(join(tlsDir, `${id}.key`), issued.keyPem, { mode: 0o600 });
    }
    const client = await createClientCertificate(ca, { clusterId: config.clusterId, name: 'cli' });
    writeFileSync(join(tlsDir, 'client.crt'), client.certPem);
    writeFileSync(join(tlsDir, 'client.key'), client.keyPem, { mode: 0o600 });
    connectFlags = `--tls-ca ${join(tlsDir, 'ca.crt')} --tls-cert ${join(tlsDir, 'client.crt')} --tls-key ${join(tlsDir, 'client.key')}`;
    io.stdout(`synod cluster: certificates in ${tlsDir} (CA, ${ids.join(', ')}, client)`);
  }

  return superviseNodes(
    ids,
    (id, i) => {
      const peers = ids.flatMap((other, j) => (other === id ? [] : [`${other}=${address(j)}`])).join(',');
      return [
        'serve',
        '--id', id,
        '--listen', address(i),
        '--peers', peers,
        '--data', join(config.data, id),
        '--cluster-id', config.clusterId,
        '--tick-ms', String(config.tickMs),
        '--algorithm', config.algorithm,
        ...(config.insecure
          ? ['--insecure']
          : ['--tls-cert', join(tlsDir, `${id}.crt`), '--tls-key', join(tlsDir, `${id}.key`), '--tls-ca', join(tlsDir, 'ca.crt')]),
      ];
    },
    () => {
      io.stdout(`synod cluster: ${config.nodes} nodes of cluster '${config.clusterId}'${config.algorithm === 'paxos' ? ' (Multi-Paxos)' : ''}`);
      ids.forEach((id, i) => io.stdout(`  ${id}  ${address(i)}  data ${join(config.data, id)}`));
      io.stdout(`endpoints: ${endpoints}`);
      io.stdout(`try:       synod kv put hello world --endpoints ${endpoints} ${connectFlags}`);
      io.stdout(`           synod status --endpoints ${endpoints} ${connectFlags}`);
    },
    io,
    signals,
  );
}

interface ClusterConfig {
  readonly nodes: number;
  readonly data: string;
  readonly clusterId: string;
  readonly natsUrl: string | undefined;
  readonly tickMs: number;
  readonly algorithm: ConsensusAlgorithm;
}

/** The cluster over NATS: the given server, or a nats-server of its own on a free port, stopped after the nodes. */
async function runNatsCluster(config: ClusterConfig, ids: readonly string[], io: CommandIo, signals: NodeJS.EventEmitter): Promise<number> {
  let broker: NatsServer | undefined;
  let url = config.natsUrl;
  if (url === undefined) {
    try {
      broker = await NatsServer.start();
    } catch (error) {
      io.stderr(`synod cluster: cannot start a nats-server: ${error instanceof Error ? error.message : String(error)}; or give --nats-url`);
      return 1;
    }
    url = broker.url;
    io.stdout(`synod cluster: started nats-server on ${url} (config ${broker.configPath})`);
  }
  const natsUrl = url;
  const clusterFlag = config.clusterId === 'synod' ? '' : ` --cluster-id ${config.clusterId}`;
  try {
    return await superviseNodes(
      ids,
      (id) => [
        'serve',
        '--transport', 'nats',
        '--nats-url', natsUrl,
        '--id', id,
        '--peers', ids.filter((other) => other !== id).join(','),
        '--data', join(config.data, id),
        '--cluster-id', config.clusterId,
        '--tick-ms', String(config.tickMs),
        '--algorithm', config.algorithm,
      ],
      () => {
        io.stdout(`synod cluster: ${config.nodes} nodes of cluster '${config.clusterId}'${config.algorithm === 'paxos' ? ' (Multi-Paxos)' : ''} over NATS ${natsUrl}`);
        ids.forEach((id) => io.stdout(`  ${id}  data ${join(config.data, id)}`));
        io.stdout(`try:       synod kv put hello world --nats-url ${natsUrl}${clusterFlag}`);
        io.stdout(`           synod status --nats-url ${natsUrl}${clusterFlag}`);
      },
      io,
      signals,
    );
  } finally {
    await broker?.dispose();
  }
}

/** Spawns one `serve` per id with the arguments `argsOf` gives, prints `announce`, and stops them all on SIGINT/SIGTERM. */
async function superviseNodes(
  ids: readonly string[],
  argsOf: (id: string, index: number) => string[],
  announce: () => void,
  commandIo: CommandIo,
  signals: NodeJS.EventEmitter,
): Promise<number> {
  const children = new Map<string, ChildProcess>();
  let stopping = false;
  let allExited: () => void = () => undefined;
  const exited = new Promise<void>((resolveExited) => {
    allExited = resolveExited;
  });
  const startup = new StartupProgress(commandIo, ids, 'synod cluster');
  const io = startup.io;
  // The nodes' stderr is a pipe; on a terminal they log pretty lines anyway, since this prints them there.
  const logFormat = commandIo.terminal?.isTTY === true ? ['--log-format', 'pretty'] : [];
  ids.forEach((id, i) => {
    const args = [synodBin(), ...argsOf(id, i), ...logFormat];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    prefixLines(child.stdout, io.stdout, id, (line) => startup.observe(id, line));
    prefixLines(child.stderr, io.stderr, id, (line) => startup.observe(id, line));
    child.on('exit', (code, signal) => {
      children.delete(id);
      if (!stopping) io.stderr(`synod cluster: ${id} exited (${signal ?? `code ${code}`})`);
      if (children.size === 0) allExited();
    });
    children.set(id, child);
  });

  announce();
  io.stdout('Ctrl-C stops every node.');

  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    startup.finish();
    io.stdout('synod cluster: stopping every node');
    for (const child of children.values()) child.kill('SIGTERM');
    setTimeout(() => {
      for (const child of children.values()) child.kill('SIGKILL');
    }, 10_000).unref();
  };
  signals.on('SIGINT', stop);
  signals.on('SIGTERM', stop);
  try {
    await exited;
  } finally {
    signals.off('SIGINT', stop);
    signals.off('SIGTERM', stop);
  }
  io.stdout('synod cluster: all nodes stopped');
  return stopping ? 0 : 1;
}
