import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { InvalidArgumentError } from '@synod/core';
import type { DemoBackend } from './demo-backend.js';
import { loadDashboardAssets } from './dashboard-assets.js';
import { dashboardHtml } from './dashboard-page.js';

export interface DashboardOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** How often a frame is pushed to each open page. @default 200 (5 a second) */
  readonly pushIntervalMs?: number;
}

/** A running dashboard. */
export interface DashboardServer {
  readonly port: number;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** Ends the event streams and stops listening. */
  close(): Promise<void>;
}

/** Largest JSON body a control accepts. */
const MAX_BODY_BYTES = 4096;

type Handler = (cluster: DemoBackend, params: { id: string; body: Record<string, unknown> }) => Promise<unknown> | unknown;

/** POST routes: `:id` is a node id. */
const CONTROLS: Record<string, Handler> = {
  'crash/:id': (c, { id }) => c.crash(id),
  'restart/:id': (c, { id }) => c.restart(id),
  'isolate/:id': (c, { id }) => c.isolate(id),
  'pause/:id': (c, { id, body }) => c.pause(id, body['ms'] === undefined ? undefined : numberField(body, 'ms')),
  'transfer/:id': (c, { id }) => c.transferLeadership(id),
  'remove/:id': (c, { id }) => c.removeMember(id),
  add: async (c) => ({ id: await c.addMember() }),
  heal: (c) => c.heal(),
  partition: (c, { body }) => c.partition(groupsField(body)),
  'link/drop': (c, { body }) => c.dropLink(stringField(body, 'a'), stringField(body, 'b')),
  'link/delay': (c, { body }) => c.delayLink(stringField(body, 'a'), stringField(body, 'b'), numberField(body, 'ms')),
  'workload/start': (c) => c.startWorkload(),
  'workload/stop': (c) => c.stopWorkload(),
};

function stringField(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string') throw new InvalidArgumentError(`"${name}" must be a node id string`);
  return value;
}

function numberField(body: Record<string, unknown>, name: string): number {
  const value = body[name];
  if (typeof value !== 'number') throw new InvalidArgumentError(`"${name}" must be a number`);
  return value;
}

function groupsField(body: Record<string, unknown>): string[][] {
  const groups = body['groups'];
  if (!Array.isArray(groups) || !groups.every((g) => Array.isArray(g) && g.every((id) => typeof id === 'string'))) {
    throw new InvalidArgumentError('"groups" must be an array of arrays of node ids');
  }
  return groups as string[][];
}

async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > MAX_BODY_BYTES) throw new InvalidArgumentError(`request body larger than ${MAX_BODY_BYTES} bytes`);
  }
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError('request body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgumentError('request body must be a JSON object');
  return value as Record<string, unknown>;
}

function route(path: string): { handler: Handler; id: string } | undefined {
  const rest = path.slice('/api/'.length);
  const direct = CONTROLS[rest];
  if (direct !== undefined) return { handler: direct, id: '' };
  const slash = rest.lastIndexOf('/');
  const withId = CONTROLS[`${rest.slice(0, slash)}/:id`];
  return slash > 0 && withId !== undefined ? { handler: withId, id: decodeURIComponent(rest.slice(slash + 1)) } : undefined;
}

/**
 * Serves the dashboard on 127.0.0.1 only:
 *
 * - `GET /` the page, `GET /assets/app.js` and `/assets/app.css` its bundle;
 * - `GET /api/events` Server-Sent Events, one {@link DashboardFrame} JSON per event, every `pushIntervalMs`;
 * - `GET /api/status` the current frame; `GET /report.html` the checker's report of the whole run;
 * - `POST /api/<control>` the controls (see CONTROLS): 200 `{"ok":true,…}`, 400 `{"error":…}` for a bad
 *   request (unknown node, bad body), 409 when the cluster could not do it (no leader, timeout), 404 otherwise.
 *
 * @throws DashboardNotBuiltError when the page's bundle is missing
 * @example
 * ```ts
 * const dashboard = await startDashboard(cluster, { port: 7070 });
 * console.log(dashboard.url);
 * await dashboard.close();
 * ```
 */
export function startDashboard(cluster: DemoBackend, options: DashboardOptions): Promise<DashboardServer> {
  const assets = loadDashboardAssets();
  const streams = new Set<ServerResponse>();
  const push = setInterval(() => {
    if (streams.size === 0) return;
    const data = `data: ${JSON.stringify(cluster.frame())}\n\n`;
    for (const stream of streams) stream.write(data);
  }, options.pushIntervalMs ?? 200);

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const json = (status: number, value: unknown): void => send(status, 'application/json', JSON.stringify(value));
    if (req.method === 'GET') {
      switch (url.pathname) {
        case '/':
          return send(200, 'text/html; charset=utf-8', dashboardHtml);
        case '/assets/app.js':
          return send(200, 'text/javascript; charset=utf-8', assets.script);
        case '/assets/app.css':
          return send(200, 'text/css; charset=utf-8', assets.styles);
        case '/favicon.ico':
          res.writeHead(204).end();
          return;
        case '/api/status':
          return json(200, cluster.frame());
        case '/report.html':
          void cluster.htmlReport().then((html) => send(200, 'text/html; charset=utf-8', html));
          return;
        case '/api/events':
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
          res.write(`data: ${JSON.stringify(cluster.frame())}\n\n`);
          streams.add(res);
          req.once('close', () => streams.delete(res));
          return;
      }
    }
    const control = req.method === 'POST' && url.pathname.startsWith('/api/') ? route(url.pathname) : undefined;
    if (control === undefined) return json(404, { error: `no route ${req.method} ${url.pathname}` });
    void (async () => {
      try {
        const body = await readJsonBody(req);
        const result = await control.handler(cluster, { id: control.id, body });
        json(200, { ok: true, ...(typeof result === 'object' && result !== null ? result : {}) });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        json(error instanceof InvalidArgumentError ? 400 : 409, { error: message });
      }
    })();
  });
  const stop = (): Promise<void> => {
    clearInterval(push);
    // Event streams never end on their own; end them so close() can finish.
    for (const stream of streams) stream.end();
    streams.clear();
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  };
  return new Promise((resolve, reject) => {
    server.once('error', (error) => {
      clearInterval(push);
      reject(error);
    });
    server.listen(options.port, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : options.port;
      resolve({ port, url: `http://127.0.0.1:${port}`, close: stop });
    });
  });
}
