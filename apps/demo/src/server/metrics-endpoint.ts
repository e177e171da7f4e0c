import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** The `/metrics` HTTP endpoint of `synod serve --metrics-listen`. */
export interface MetricsEndpoint {
  /** `host:port` it is bound to (the real port when asked for 0). */
  readonly address: string;
  close(): Promise<void>;
}

/**
 * Serves `registry` in the Prometheus text format on `GET /metrics` at
 * `listen` (`host:port`); every other path answers 404. Rejects when the
 * port cannot be bound, so `serve` can refuse to start with a clear line.
 *
 * @example
 * ```ts
 * const endpoint = await startMetricsEndpoint('127.0.0.1:9100', metrics.registry);
 * // curl http://127.0.0.1:9100/metrics
 * await endpoint.close();
 * ```
 */
export async function startMetricsEndpoint(listen: string, registry: Registry): Promise<MetricsEndpoint> {
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(listen.slice(colon + 1));
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the metrics are at /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting metrics failed: ${error instanceof Error ? error.message : String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    address: `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
