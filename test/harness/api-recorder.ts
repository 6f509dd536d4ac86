// A recording pass-through in front of the test kube-apiserver: a plain-HTTP listener on 127.0.0.1
// that forwards every request (headers, body, streamed watch responses) to the real API server over
// TLS and records what was asked and what the server answered. Used to learn which API calls a
// process really makes, as which verb on which resource, and whether RBAC allowed them.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  method: string;
  path: string;
  status: number;
  /** RBAC's view of the call (undefined for non-resource URLs such as /version or discovery). */
  access: ResourceAccess | undefined;
}

export interface ResourceAccess {
  verb: string;
  /** '' for the core group. */
  group: string;
  /** `resource` or `resource/subresource`. */
  resource: string;
  namespace: string | undefined;
  name: string | undefined;
}

/**
 * How the API server's RBAC sees a request (k8s.io/apiserver RequestInfoFactory, for the paths
 * client libraries use): /api/v1/... is the core group, /apis/<group>/<version>/... the others;
 * GET on a collection is list, or watch with ?watch=true.
 */
export function resourceAccess(method: string, url: string): ResourceAccess | undefined {
  const [pathname = '', query = ''] = url.split('?');
  const parts = pathname.split('/').filter(Boolean);
  let rest: string[];
  let group: string;
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1] as string;
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  let namespace: string | undefined;
  // namespaces/<ns>/<resource>...: a namespaced resource; namespaces[/<name>] alone is the Namespace itself.
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, subresource] = rest as [string, string | undefined, string | undefined];
  const params = new URLSearchParams(query);
  const watching = params.get('watch') === 'true' || params.get('watch') === '1';
  const verb =
    method === 'GET'
      ? name
        ? 'get'
        : watching
          ? 'watch'
          : 'list'
      : method === 'POST'
        ? 'create'
        : method === 'PUT'
          ? 'update'
          : method === 'PATCH'
            ? 'patch'
            : method === 'DELETE'
              ? name
                ? 'delete'
                : 'deletecollection'
              : method.toLowerCase();
  return { verb, group, resource: subresource ? `${resource}/${subresource}` : resource, namespace, name };
}

export interface ApiRecorder {
  /** http://127.0.0.1:<port>: put it in a kubeconfig as the cluster's server. */
  readonly url: string;
  readonly calls: RecordedCall[];
  close(): Promise<void>;
}

/** Starts a recorder forwarding to `server` (https://...), trusting `ca` (PEM) for its certificate. */
export async function startApiRecorder(server: string, ca: string | Buffer): Promise<ApiRecorder> {
  const target = new URL(server);
  const calls: RecordedCall[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const proxy = http.createServer((req, res) => {
    const upstream = https.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
        ca,
      },
      (answer) => {
        const method = req.method ?? 'GET';
        const path = req.url ?? '/';
        calls.push({ method, path, status: answer.statusCode ?? 0, access: resourceAccess(method, path) });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(upstream);
    res.on('close', () => upstream.destroy());
  });
  proxy.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        proxy.close(() => resolve());
      }),
  };
}
