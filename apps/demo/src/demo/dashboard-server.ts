import { createServer, type Server } from 'node:http';
import type { DemoCluster } from './demo-cluster.js';
import { dashboardHtml } from './dashboard-page.js';

/**
 * Serves the dashboard and its small JSON API on 127.0.0.1 only.
 * `GET /api/status`; `POST /api/crash/:id`, `/api/restart/:id`, `/api/isolate/:id`, `/api/heal`.
 */
export function startDashboard(cluster: DemoCluster, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method === 'GET' && url.pathname === '/') return send(200, 'text/html; charset=utf-8', dashboardHtml);
    if (req.method === 'GET' && url.pathname === '/api/status') {
      return send(200, 'application/json', JSON.stringify(cluster.snapshot()));
    }
    const action = /^\/api\/(crash|restart|isolate)\/([\w-]+)$/.exec(url.pathname);
    if (req.method === 'POST' && action !== null) {
      const [, verb, id] = action as unknown as [string, 'crash' | 'restart' | 'isolate', string];
      if (!cluster.ids.includes(id)) return send(404, 'application/json', JSON.stringify({ error: `no node ${id}` }));
      if (verb === 'crash') void cluster.crash(id);
      else if (verb === 'restart') cluster.restart(id);
      else cluster.isolate(id);
      return send(200, 'application/json', '{"ok":true}');
    }
    if (req.method === 'POST' && url.pathname === '/api/heal') {
      cluster.heal();
      return send(200, 'application/json', '{"ok":true}');
    }
    send(404, 'application/json', JSON.stringify({ error: 'not found' }));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
