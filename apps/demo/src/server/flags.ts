import { readFileSync } from 'node:fs';
import type { ClientSecurity, GrpcSecurity } from '@synod/transport-grpc';

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
