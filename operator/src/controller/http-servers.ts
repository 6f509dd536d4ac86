// The operator's two small HTTP servers: /healthz and /readyz for the kubelet, /metrics for Prometheus.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthChecks {
  /** The process is alive and its event loop turns. */
  healthy: () => boolean;
  /** Caches synced: the replica can lead (or is leading) without acting on partial data. */
  ready: () => boolean;
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

export async function startHealthServer(host: string, port: number, checks: HealthChecks) {
  const server = http.createServer((req, res) => {
    const path = req.url?.split('?')[0];
    const ok = path === '/healthz' ? checks.healthy() : path === '/readyz' ? checks.ready() : undefined;
    if (ok === undefined) {
      res.writeHead(404).end('not found\n');
      return;
    }
    res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'not ready\n');
  });
  return { server, port: await listen(server, host, port) };
}

export async function startMetricsServer(host: string, port: number, registry: Registry) {
  const server = http.createServer(async (req, res) => {
    if (req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end('not found\n');
      return;
    }
    try {
      const body = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType }).end(body);
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
  return { server, port: await listen(server, host, port) };
}
