import { pino, type Logger as PinoLogger } from 'pino';
import pinoPretty from 'pino-pretty';
import { UsageError } from './flags.js';

/** The levels `--log-level` takes, quietest last (pino's names). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How log records are written: one JSON object per line, or pino-pretty's coloured lines for a terminal. */
export type LogFormat = 'json' | 'pretty';

/** `--log-level`: one of {@link LOG_LEVELS}, `info` when absent. */
export function logLevelFlag(value: string | undefined): LogLevel {
  const level = value ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${level}'`);
  return level as LogLevel;
}

/**
 * `--log-format auto|json|pretty`: `auto` (the default) is pretty when the
 * log goes to a terminal and JSON otherwise, so a supervisor or a pipe always
 * gets one parseable line per record.
 */
export function logFormatFlag(value: string | undefined, terminal: boolean): LogFormat {
  const format = value ?? 'auto';
  if (format === 'auto') return terminal ? 'pretty' : 'json';
  if (format !== 'json' && format !== 'pretty') throw new UsageError(`--log-format must be auto, json or pretty, got '${format}'`);
  return format;
}

/** Options of {@link createServeLogger}. */
export interface ServeLoggerOptions {
  /** Receives each record as one line without its newline (stderr for `synod serve`). */
  readonly write: (line: string) => void;
  readonly level: LogLevel;
  readonly format: LogFormat;
  /** Carried by every record as `node`. */
  readonly nodeId: string;
  /** Carried by every record as `cluster`. */
  readonly clusterId: string;
}

/**
 * The pino logger of `synod serve`. Every record carries the node and
 * cluster ids, so the lines of several nodes can be merged and still read.
 * It writes synchronously through `write`: a node that fail-stops exits
 * right after its last record, which must not be left in a buffer.
 *
 * A pino logger is also a `@synod/core` Logger, so it is handed as it is to
 * the server, the transport and SWIM.
 *
 * @example
 * ```ts
 * const logger = createServeLogger({ write: (line) => process.stderr.write(`${line}\n`), level: 'info', format: 'json', nodeId: 'n1', clusterId: 'synod' });
 * logger.info({ term: 3 }, 'became leader');
 * // {"level":30,"time":…,"pid":…,"node":"n1","cluster":"synod","term":3,"msg":"became leader"}
 * ```
 */
export function createServeLogger(options: ServeLoggerOptions): PinoLogger {
  const pretty = options.format === 'pretty' ? pinoPretty.prettyFactory({
          colorize: true,
          // One line per record, the node id first: the lines of several nodes interleave in one terminal (cluster up, demo).
          singleLine: true,
          messageFormat: '{node}: {msg}',
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname,cluster,node',
        }) : undefined;
  const destination = {
    write(record: string): void {
      options.write((pretty === undefined ? record : pretty(record)).trimEnd());
    },
  };
  return pino(
    {
      level: options.level,
      base: { pid: process.pid, node: options.nodeId, cluster: options.clusterId },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
