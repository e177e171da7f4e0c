import { readFileSync } from 'node:fs';
import type { ClientSecurity, GrpcSecurity } from '@synod/transport-grpc';
import type { NatsAuth, NatsTlsOptions } from '@synod/transport-nats';

// The server commands take the command-line helpers from @synod/testkit's
// small cli-io module, not its index (the simulator and checker), so that
// `synod serve` starts without loading them.
import { UsageError } from '@synod/testkit/cli-io';

export { EXIT_USAGE, UsageError, integerFlag, type CommandIo } from '@synod/testkit/cli-io';

/** Exit code for an input file that does not exist or cannot be read (BSD sysexits EX_NOINPUT). */
export const EXIT_NO_INPUT = 66;
/** Exit code when no member of the cluster could be reached (EX_UNAVAILABLE). */
export const EXIT_UNAVAILABLE = 69;
/** Exit code when the data directory is held by another process (EX_TEMPFAIL: try again when it stops). */
export const EXIT_IN_USE = 75;
/** The node stopped itself: its disk failed or an invariant broke, and carrying on could lose acknowledged writes (EX_IOERR). */
export const EXIT_FAIL_STOP = 74;

/** A file named by a flag is missing or unreadable; commands print it and exit with {@link EXIT_NO_INPUT}. */
export class MissingInputError extends Error {
  override readonly name = 'MissingInputError';
}

/** Runs node:util's parseArgs (or anything else), turning its errors into UsageError. */
export function asUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** Reads a file named by `flag`, or throws MissingInputError naming both. */
export function readInputFile(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new MissingInputError(`${flag} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : 'cannot be read'}`);
  }
}

/** Checks `host:port`. */
export function hostPort(value: string, flag: string): string {
  const match = /^(.+):(\d+)$/.exec(value);
  if (match === null || Number(match[2]) > 65535) throw new UsageError(`${flag} must be host:port, got '${value}'`);
  return value;
}

/** `n2=host:port,n3=host:port` → { n2: 'host:port', n3: 'host:port' }. */
export function parsePeers(value: string | undefined, ownId: string): Record<string, string> {
  const peers: Record<string, string> = {};
  if (value === undefined || value === '') return peers;
  for (const entry of value.split(',')) {
    const at = entry.indexOf('=');
    if (at <= 0) throw new UsageError(`--peers entries must look like n2=127.0.0.1:7002, got '${entry}'`);
    const id = entry.slice(0, at);
    if (id === ownId) throw new UsageError(`--peers must not list this node's own id '${id}'`);
    if (Object.hasOwn(peers, id)) throw new UsageError(`--peers lists '${id}' twice`);
    peers[id] = hostPort(entry.slice(at + 1), `--peers ${id}`);
  }
  return peers;
}

/** The TLS flags every networked command shares. */
export const TLS_FLAGS = {
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  insecure: { type: 'boolean' },
} as const;

interface TlsValues {
  readonly 'tls-cert'?: string | undefined;
  readonly 'tls-key'?: string | undefined;
  readonly 'tls-ca'?: string | undefined;
  readonly insecure?: boolean | undefined;
}

/** A node's security from the flags: all three TLS files, or --insecure. */
export function serverSecurity(values: TlsValues): GrpcSecurity {
  const given = (['tls-cert', 'tls-key', 'tls-ca'] as const).filter((flag) => values[flag] !== undefined);
  if (values.insecure === true) {
    if (given.length > 0) throw new UsageError('--insecure cannot be combined with --tls-cert, --tls-key or --tls-ca');
    return { insecure: true };
  }
  if (given.length !== 3) {
    throw new UsageError('give --tls-cert, --tls-key and --tls-ca (mutual TLS), or --insecure for plaintext');
  }
  return {
    tls: {
      cert: readInputFile(values['tls-cert']!, '--tls-cert'),
      key: readInputFile(values['tls-key']!, '--tls-key'),
      ca: readInputFile(values['tls-ca']!, '--tls-ca'),
    },
  };
}

/** A client's security: --tls-ca (with --tls-cert and --tls-key when the cluster requires client certificates), or --insecure. */
export function clientSecurity(values: TlsValues): ClientSecurity {
  if (values.insecure === true) {
    if (values['tls-ca'] !== undefined || values['tls-cert'] !== undefined) throw new UsageError('--insecure cannot be combined with TLS flags');
    return { insecure: true };
  }
  if (values['tls-ca'] === undefined) throw new UsageError('give --tls-ca (with --tls-cert and --tls-key), or --insecure for plaintext');
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) throw new UsageError('give both --tls-cert and --tls-key, or neither');
  const ca = readInputFile(values['tls-ca'], '--tls-ca');
  if (values['tls-cert'] === undefined) return { tls: { ca } };
  return { tls: { ca, cert: readInputFile(values['tls-cert'], '--tls-cert'), key: readInputFile(values['tls-key']!, '--tls-key') } };
}

/** `a:1,b:2` → ['a:1', 'b:2']. */
export function parseEndpoints(value: string | undefined): string[] {
  if (value === undefined || value === '') throw new UsageError('--endpoints is required: host:port[,host:port…]');
  return value.split(',').map((endpoint) => hostPort(endpoint, '--endpoints'));
}

/** The NATS connection flags of `serve`, `kv` and `status`. */
export const NATS_FLAGS = {
  'nats-url': { type: 'string' },
  'nats-creds': { type: 'string' },
  'nats-nkey': { type: 'string' },
  'nats-user': { type: 'string' },
  'nats-password': { type: 'string' },
  'nats-token': { type: 'string' },
  'nats-tls-ca': { type: 'string' },
  'nats-tls-cert': { type: 'string' },
  'nats-tls-key': { type: 'string' },
} as const;

export const NATS_FLAGS_HELP = `  --nats-url LIST     NATS server URLs: nats://127.0.0.1:4222[,nats://…]
  --nats-creds FILE   a credentials file (.creds: user JWT and NKey seed)
  --nats-nkey FILE    a file holding an NKey user seed (SU…)
  --nats-user U       with --nats-password P: user and password
  --nats-token T      a token
  --nats-tls-ca FILE  CA of the NATS server's certificate (TLS)
  --nats-tls-cert F   client certificate for NATS servers that verify clients
  --nats-tls-key F    its key`;

type NatsValues = { readonly [K in keyof typeof NATS_FLAGS]?: string | undefined };

/** The NATS connection the flags describe. */
export interface NatsConnectionFlags {
  readonly servers: string[];
  readonly auth?: NatsAuth;
  readonly tls?: NatsTlsOptions;
}

/** Reads the NATS flags; `--nats-url` is required, at most one way of authenticating. */
export function natsConnectionFlags(values: NatsValues): NatsConnectionFlags {
  const url = values['nats-url'];
  if (url === undefined || url === '') throw new UsageError('--nats-url is required with NATS: nats://host:port[,nats://host:port…]');
  const servers = url.split(',').map((server) => {
    if (!/^((nats|tls):\/\/)?[^\s/]+:\d+$/.test(server)) throw new UsageError(`--nats-url entries must look like nats://127.0.0.1:4222, got '${server}'`);
    return server;
  });
  const ways = (['nats-creds', 'nats-nkey', 'nats-user', 'nats-token'] as const).filter((flag) => values[flag] !== undefined);
  if (ways.length > 1) throw new UsageError(`give one way of authenticating to NATS, not ${ways.map((w) => `--${w}`).join(' and ')}`);
  if ((values['nats-user'] === undefined) !== (values['nats-password'] === undefined)) throw new UsageError('give both --nats-user and --nats-password, or neither');
  let auth: NatsAuth | undefined;
  if (values['nats-creds'] !== undefined) {
    readInputFile(values['nats-creds'], '--nats-creds');
    auth = { credentialsFile: values['nats-creds'] };
  } else if (values['nats-nkey'] !== undefined) auth = { nkeySeed: readInputFile(values['nats-nkey'], '--nats-nkey').toString('utf8').trim() };
  else if (values['nats-user'] !== undefined) auth = { user: values['nats-user'], pass: values['nats-password']! };
  else if (values['nats-token'] !== undefined) auth = { token: values['nats-token'] };
  let tls: NatsTlsOptions | undefined;
  if (values['nats-tls-ca'] !== undefined || values['nats-tls-cert'] !== undefined) {
    if ((values['nats-tls-cert'] === undefined) !== (values['nats-tls-key'] === undefined)) throw new UsageError('give both --nats-tls-cert and --nats-tls-key, or neither');
    tls = {
      ...(values['nats-tls-ca'] === undefined ? {} : { ca: readInputFile(values['nats-tls-ca'], '--nats-tls-ca').toString('utf8') }),
      ...(values['nats-tls-cert'] === undefined
        ? {}
        : { cert: readInputFile(values['nats-tls-cert'], '--nats-tls-cert').toString('utf8'), key: readInputFile(values['nats-tls-key']!, '--nats-tls-key').toString('utf8') }),
    };
  }
  return { servers, ...(auth === undefined ? {} : { auth }), ...(tls === undefined ? {} : { tls }) };
}

/** `--transport grpc|nats`. */
export function transportFlag(value: string | undefined): 'grpc' | 'nats' {
  const transport = value ?? 'grpc';
  if (transport !== 'grpc' && transport !== 'nats') throw new UsageError(`--transport must be grpc or nats, got '${transport}'`);
  return transport;
}

/** `n2,n3` or `n2=host:port,…` (addresses ignored): the peer ids of a node over NATS. */
export function parsePeerIds(value: string | undefined, ownId: string): string[] {
  if (value === undefined || value === '') return [];
  const ids = value.split(',').map((entry) => (entry.includes('=') ? entry.slice(0, entry.indexOf('=')) : entry));
  for (const id of ids) {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(id)) throw new UsageError(`--peers ids must be letters, digits, '_' or '-' over NATS, got '${id}'`);
    if (id === ownId) throw new UsageError(`--peers must not list this node's own id '${id}'`);
  }
  if (new Set(ids).size !== ids.length) throw new UsageError('--peers lists an id twice');
  return ids;
}
