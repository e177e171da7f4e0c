import type { Logger as PinoLogger } from 'pino';
import { nodeFileSystem, type FileSystem } from '@synod/core';
import { hostPort } from './flags.js';
import { startMetricsEndpoint, type MetricsEndpoint } from './metrics-endpoint.js';
import { observeNodeCalls } from './node-calls.js';
import { logElections, logFailedCall, type RoleEvents } from './node-event-log.js';
import { createServeLogger, logFormatFlag, logLevelFlag, type LogFormat, type LogLevel } from './serve-logger.js';
import { ServeMetrics, type DetectorEntry, type MeteredNode, type MeteredTransport } from './serve-metrics.js';
import { timedFileSystem } from './timed-file-system.js';

/** The operations flags of `synod serve`, for its parseArgs options. */
export const OPERATIONS_FLAGS = {
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  'metrics-listen': { type: 'string' },
} as const;

export const OPERATIONS_HELP = `  --log-level LEVEL     trace, debug, info, warn, error, fatal or silent
                        (default info); one JSON object per line on stderr
  --log-format F        auto (default: pretty when stderr is a terminal,
                        else json), json or pretty
  --metrics-listen HOST:PORT
                        serve Prometheus metrics on http://HOST:PORT/metrics
                        (default: no metrics endpoint)`;

/** The operations flags, checked. */
export interface OperationsConfig {
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly metricsListen: string | undefined;
}

/** Reads the operations flags; `terminal` says whether stderr is a TTY (for `--log-format auto`). Throws UsageError. */
export function operationsConfig(values: { readonly [K in keyof typeof OPERATIONS_FLAGS]?: string | undefined }, terminal: boolean): OperationsConfig {
  return {
    logLevel: logLevelFlag(values['log-level']),
    logFormat: logFormatFlag(values['log-format'], terminal),
    metricsListen: values['metrics-listen'] === undefined ? undefined : hostPort(values['metrics-listen'], '--metrics-listen'),
  };
}

/** What the operations surface watches of a server (gRPC or NATS). */
export interface ObservedServer {
  readonly node: MeteredNode & RoleEvents & object;
  readonly transport: MeteredTransport;
}

/** What it watches of the failure detector beside the node. */
export interface ObservedDetector {
  view(): readonly DetectorEntry[];
  readonly swim: { on(event: 'suspect', listener: (event: { readonly member: { readonly id: string } }) => void): unknown };
}

/**
 * The logs and metrics of one `synod serve` node: the pino logger, the
 * metrics registry, the timed file system for FileStorage and, once the
 * server exists, the observers of its node, transport and detector.
 *
 * @example
 * ```ts
 * const ops = new ServeOperations(config.operations, { nodeId: 'n1', clusterId: 'synod', write: io.stderr });
 * const storage = await FileStorage.open(dir, { fileSystem: ops.fileSystem(nodeFileSystem) });
 * const server = createSynodServer({ ..., logger: ops.logger });
 * ops.observe(server);
 * await ops.startMetrics();
 * ```
 */
export class ServeOperations {
  readonly logger: PinoLogger;
  readonly metrics = new ServeMetrics();
  #endpoint: MetricsEndpoint | undefined;

  constructor(
    readonly config: OperationsConfig,
    ids: { readonly nodeId: string; readonly clusterId: string; readonly write: (line: string) => void },
  ) {
    this.logger = createServeLogger({ write: ids.write, level: config.logLevel, format: config.logFormat, nodeId: ids.nodeId, clusterId: ids.clusterId });
  }

  /** `base` (node:fs by default) with its syncs timed for `synod_storage_fsync_duration_seconds`. */
  fileSystem(base: FileSystem = nodeFileSystem): FileSystem {
    return timedFileSystem(base, (seconds) => this.metrics.observeFsync(seconds));
  }

  /** Logs the node's elections and failed client calls, and meters the node and its transport. */
  observe(server: ObservedServer): void {
    logElections(server.node, this.logger);
    this.metrics.attachNode(server.node);
    this.metrics.attachTransport(server.transport);
    observeNodeCalls(server.node, (call) => {
      this.metrics.observeCall(call);
      logFailedCall(this.logger, call);
    });
  }

  /** Meters the failure detector: phi and state per peer, suspicions counted. */
  observeDetector(detector: ObservedDetector): void {
    this.metrics.attachDetector(() => detector.view());
    detector.swim.on('suspect', ({ member }) => this.metrics.suspected(member.id));
  }

  /** Binds `--metrics-listen` when given; returns the bound address. Rejects when the port cannot be bound. */
  async startMetrics(): Promise<string | undefined> {
    if (this.config.metricsListen === undefined) return undefined;
    this.#endpoint = await startMetricsEndpoint(this.config.metricsListen, this.metrics.registry);
    this.logger.info({ address: this.#endpoint.address }, `metrics on http://${this.#endpoint.address}/metrics`);
    return this.#endpoint.address;
  }

  /** Closes the metrics endpoint. Idempotent. */
  async stop(): Promise<void> {
    const endpoint = this.#endpoint;
    this.#endpoint = undefined;
    await endpoint?.close();
  }
}
