// An HTTP/1.1 echo backend for routing tests, in the spirit of the Gateway API's echo-basic: every
// request is answered with JSON naming this backend and echoing what it received, so a test can see
// where a request went and what Envoy changed on the way. Run as a program (`node echo-backend.ts
// <name> <address> [port]`) it prints `listening <port>`, the form in which it runs inside a test host
// (test/harness/netns.ts).
//
// Request headers a test may send (the backend obeys, within bounds):
//   x-echo-status: 503          answer with this status
//   x-echo-delay-ms: 200        wait this long first (at most 10 s)
//   x-echo-set-header: a:b      add this response header (repeat the header for more)
// GET /__legate/requests (sent to the backend directly) lists the last 1,000 requests it received,
// which is how a test sees mirrored traffic.
import http from 'node:http';

export interface EchoResponse {
  /** The backend's name (the Service it stands for). */
  name: string;
  method: string;
  /** Path and query as received. */
  path: string;
  host: string;
  headers: Record<string, string>;
}

const maxRecorded = 1000;

export function startEchoServer(name: string, address: string, port = 0): Promise<http.Server> {
  const recorded: EchoResponse[] = [];
  const server = http.createServer((req, res) => {
    if (req.url === '/__legate/requests' && req.headers['x-legate-echo'] === undefined) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(recorded));
      return;
    }
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(req.headers)) {
      headers[key] = Array.isArray(value) ? value.join(',') : (value ?? '');
    }
    const echo: EchoResponse = {
      name,
      method: req.method ?? '',
      path: req.url ?? '',
      host: headers.host ?? '',
      headers,
    };
    recorded.push(echo);
    if (recorded.length > maxRecorded) recorded.shift();
    const status = Number(headers['x-echo-status'] ?? 200);
    const delay = Math.min(Number(headers['x-echo-delay-ms'] ?? 0) || 0, 10_000);
    // Read the whole body before answering: Envoy may still be sending it.
    req.resume();
    req.on('end', () => {
      setTimeout(() => {
        const extra = req.headersDistinct['x-echo-set-header'] ?? [];
        for (const pair of extra) {
          const at = pair.indexOf(':');
          if (at > 0) res.appendHeader(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
        }
        res.setHeader('content-type', 'application/json');
        res.setHeader('x-echo-backend', name);
        res.writeHead(Number.isInteger(status) && status >= 200 && status < 600 ? status : 200);
        res.end(JSON.stringify(echo));
      }, delay);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve(server));
  });
}

if (import.meta.main) {
  const [name, address, port] = process.argv.slice(2);
  if (!name || !address) {
    process.stderr.write('usage: echo-backend.ts <name> <address> [port]\n');
    process.exit(2);
  }
  const server = await startEchoServer(name, address, Number(port ?? 0));
  const bound = server.address();
  process.stdout.write(`listening ${typeof bound === 'object' && bound ? bound.port : 0}\n`);
}
