import { parseArgs } from 'node:util';
import { TimeoutError, type KeyValue } from '@synod/core';
import { SynodRpcError, type SynodKvClient } from '@synod/protocol';
import { checkHealth, SynodClient, type CasExpectation, type ClientSecurity } from '@synod/transport-grpc';
import { SynodNatsClient } from '@synod/transport-nats';
import {
  clientSecurity,
  EXIT_NO_INPUT,
  EXIT_UNAVAILABLE,
  MissingInputError,
  NATS_FLAGS,
  NATS_FLAGS_HELP,
  natsConnectionFlags,
  parseEndpoints,
  asUsage,
  TLS_FLAGS,
  EXIT_USAGE,
  integerFlag,
  UsageError,
  type CommandIo,
} from './flags.js';

const CONNECTION_FLAGS = {
  endpoints: { type: 'string' },
  ...TLS_FLAGS,
  ...NATS_FLAGS,
  'cluster-id': { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const CONNECTION_HELP = `  --endpoints LIST    members to talk to: 127.0.0.1:7001,127.0.0.1:7002 (any subset)
  --tls-ca FILE       the cluster's CA certificate
  --tls-cert FILE     a client certificate, when the cluster requires one
  --tls-key FILE      its key
  --insecure          plaintext (a cluster started with --insecure)
  --timeout MS        deadline per command, retries included (default 10000)
 over NATS instead of --endpoints (a cluster started with --transport nats):
${NATS_FLAGS_HELP}
  --cluster-id ID     the cluster's id (default synod)
  -h, --help          this text`;

const KV_USAGE = 'usage: synod kv put KEY VALUE | get KEY [--consistency C] | del KEY | cas KEY NEW (--expect OLD | --expect-absent | --expect-rev N)  (--endpoints LIST (--tls-ca F [--tls-cert F --tls-key F] | --insecure) | --nats-url URL)';

const KV_HELP = `${KV_USAGE}

Reads and writes keys of a running cluster. Writes are exactly-once: a
retry after a lost answer applies once.

  put KEY VALUE       prints the new revision
  get KEY             prints the value; exit code 1 when the key does not exist
  del KEY             prints whether it existed
  cas KEY NEW         swaps when --expect OLD (the current value), --expect-absent
                      or --expect-rev N (the key's mod revision) holds; exit code 1 when not

options:
  --consistency C     get only: linearizable (default), lease or serializable
${CONNECTION_HELP}`;

const STATUS_USAGE = 'usage: synod status (--endpoints LIST (--tls-ca F [--tls-cert F --tls-key F] | --insecure) | --nats-url URL)';
const STATUS_HELP = `${STATUS_USAGE}

Prints a table of the members: id, endpoint, role, term, the leader each
knows, commit and applied index, and health (grpc.health.v1 of the KV service;
over NATS, serving when the member knows a leader). Then, for members running
SWIM (synod serve does unless --swim off), how each of them sees every member:
SWIM state (alive, suspect, dead, left), incarnation, and the phi accrual
suspicion of the traffic it gets from it.

options:
${CONNECTION_HELP}`;

type ConnectionValues = { endpoints?: string | undefined; timeout?: string | undefined; 'cluster-id'?: string | undefined } & Parameters<typeof clientSecurity>[0] &
  Parameters<typeof natsConnectionFlags>[0];

/** A client over gRPC (--endpoints) or NATS (--nats-url), as the flags say. */
type Connection =
  | { readonly kind: 'grpc'; readonly client: SynodClient; readonly security: ClientSecurity; readonly timeoutMs: number }
  | { readonly kind: 'nats'; readonly client: SynodNatsClient; readonly timeoutMs: number };

function connect(values: ConnectionValues): Connection {
  const timeoutMs = integerFlag(values.timeout, '--timeout', 10_000, 1);
  if (values['nats-url'] !== undefined) {
    if (values.endpoints !== undefined) throw new UsageError('give --endpoints (gRPC) or --nats-url (NATS), not both');
    const nats = natsConnectionFlags(values);
    const client = new SynodNatsClient({
      servers: nats.servers,
      clusterId: values['cluster-id'] ?? 'synod',
      timeoutMs,
      ...(nats.auth === undefined ? {} : { auth: nats.auth }),
      ...(nats.tls === undefined ? {} : { tls: nats.tls }),
    });
    return { kind: 'nats', client, timeoutMs };
  }
  const security = clientSecurity(values);
  return { kind: 'grpc', client: new SynodClient({ endpoints: parseEndpoints(values.endpoints), security, timeoutMs }), security, timeoutMs };
}

/** Runs `body`, turning usage, file and cluster failures into a message and an exit code. */
async function guarded(command: string, usage: string, io: CommandIo, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`synod ${command}: ${error.message}`);
      io.stderr(usage);
      return EXIT_USAGE;
    }
    if (error instanceof MissingInputError) {
      io.stderr(`synod ${command}: ${error.message}`);
      return EXIT_NO_INPUT;
    }
    if (error instanceof TimeoutError) {
      io.stderr(`synod ${command}: ${error.message}`);
      return EXIT_UNAVAILABLE;
    }
    if (error instanceof SynodRpcError) {
      io.stderr(`synod ${command}: ${error.reason}: ${error.message}`);
      return error.reason.startsWith('GRPC_') || error.reason.startsWith('NATS_') ? EXIT_UNAVAILABLE : 1;
    }
    throw error;
  }
}

function describeKv(kv: KeyValue): string {
  return `${kv.key} = ${kv.value} (version ${kv.version}, mod revision ${kv.modRevision}, created at ${kv.createRevision})`;
}

/** `synod kv put|get|del|cas`. */
export function runKv(argv: readonly string[], io: CommandIo): Promise<number> {
  return guarded('kv', KV_USAGE, io, async () => {
    const { values, positionals } = asUsage(() =>
      parseArgs({
        args: [...argv],
        strict: true,
        allowPositionals: true,
        options: {
          ...CONNECTION_FLAGS,
          consistency: { type: 'string' },
          expect: { type: 'string' },
          'expect-absent': { type: 'boolean' },
          'expect-rev': { type: 'string' },
        },
      }),
    );
    if (values.help === true) {
      io.stdout(KV_HELP);
      return 0;
    }
    const [operation, key, ...rest] = positionals;
    const arity: Record<string, number> = { put: 1, get: 0, del: 0, cas: 1 };
    if (operation === undefined || !(operation in arity)) throw new UsageError(`the operation must be put, get, del or cas, got '${operation ?? ''}'`);
    if (key === undefined || key === '') throw new UsageError(`kv ${operation} needs a KEY`);
    if (rest.length !== arity[operation]) throw new UsageError(`kv ${operation} takes ${operation === 'put' ? 'KEY VALUE' : operation === 'cas' ? 'KEY NEW' : 'KEY'}`);
    if (values.consistency !== undefined && operation !== 'get') throw new UsageError('--consistency applies to get only');
    let expected: CasExpectation | undefined;
    if (operation === 'cas') {
      const given = [values.expect !== undefined, values['expect-absent'] === true, values['expect-rev'] !== undefined].filter(Boolean).length;
      if (given !== 1) throw new UsageError('cas needs exactly one of --expect OLD, --expect-absent, --expect-rev N');
      if (values.expect !== undefined) expected = { value: values.expect };
      else if (values['expect-absent'] === true) expected = { absent: true };
      else expected = { modRevision: integerFlag(values['expect-rev'], '--expect-rev', 0) };
    }
    const consistency = values.consistency ?? 'linearizable';
    if (!['linearizable', 'lease', 'serializable'].includes(consistency)) {
      throw new UsageError(`--consistency must be linearizable, lease or serializable, got '${consistency}'`);
    }
    const client: SynodKvClient = connect(values).client;
    try {
      switch (operation) {
        case 'put': {
          const result = await client.put(key, rest[0]!);
          io.stdout(`OK revision ${result.revision}`);
          return 0;
        }
        case 'get': {
          const result = await client.get(key, { consistency: consistency as 'linearizable' | 'lease' | 'serializable' });
          if (result.kv === undefined) {
            io.stderr(`synod kv get: '${key}' does not exist (revision ${result.revision})`);
            return 1;
          }
          io.stdout(result.kv.value);
          return 0;
        }
        case 'del': {
          const result = await client.delete(key);
          io.stdout(result.deleted ? `deleted ${key} at revision ${result.revision}` : `${key} did not exist`);
          return 0;
        }
        default: {
          const result = await client.compareAndSwap(key, expected!, rest[0]!);
          io.stdout(
            result.succeeded
              ? `OK revision ${result.revision}`
              : `NOT SWAPPED: ${result.kv === undefined ? `${key} does not exist` : describeKv(result.kv)}`,
          );
          return result.succeeded ? 0 : 1;
        }
      }
    } finally {
      await client.close();
    }
  });
}

/** Pads the columns of `rows` (the first is the header) to a table. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
}

/** `synod status`. */
export function runStatus(argv: readonly string[], io: CommandIo): Promise<number> {
  return guarded('status', STATUS_USAGE, io, async () => {
    const { values, positionals } = asUsage(() => parseArgs({ args: [...argv], strict: true, allowPositionals: true, options: CONNECTION_FLAGS }));
    if (values.help === true) {
      io.stdout(STATUS_HELP);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const connection = connect(values);
    const { client, timeoutMs } = connection;
    try {
      const answers = await client.status({ timeoutMs: Math.min(timeoutMs, 3_000) });
      const health = await Promise.all(
        answers.map((answer) =>
          connection.kind === 'grpc'
            ? checkHealth(answer.endpoint, connection.security, 'synod.kv.v1.KV', Math.min(timeoutMs, 3_000))
            : 'error' in answer ? 'UNKNOWN' : answer.leaderId === undefined ? 'NOT_SERVING' : 'SERVING',
        ),
      );
      const rows: string[][] = [['ID', 'ENDPOINT', 'ROLE', 'TERM', 'LEADER', 'COMMIT', 'APPLIED', 'HEALTH']];
      answers.forEach((answer, i) => {
        if ('error' in answer) rows.push(['?', answer.endpoint, 'unreachable', '-', '-', '-', '-', answer.error.message.slice(0, 60)]);
        else {
          rows.push([
            answer.id,
            answer.endpoint,
            answer.role,
            String(answer.term),
            answer.leaderId ?? '-',
            String(answer.commitIndex),
            String(answer.appliedIndex),
            health[i]!.toLowerCase(),
          ]);
        }
      });
      for (const line of table(rows)) io.stdout(line);
      const swimRows: string[][] = [['VIEWER', 'MEMBER', 'SWIM', 'INCARNATION', 'PHI']];
      for (const answer of answers) {
        if ('error' in answer || answer.swim === undefined) continue;
        for (const member of answer.swim) {
          swimRows.push([answer.id, member.id, member.state, String(member.incarnation), member.phi === undefined ? '-' : member.phi.toFixed(2)]);
        }
      }
      if (swimRows.length > 1) {
        io.stdout('');
        for (const line of table(swimRows)) io.stdout(line);
      }
      return answers.every((answer) => 'error' in answer) ? EXIT_UNAVAILABLE : 0;
    } finally {
      await client.close();
    }
  });
}
