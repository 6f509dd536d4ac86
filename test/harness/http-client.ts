// A small HTTP(S) client for tests that talk to Envoy. `fetch` may not set the Host header, and
// routing tests live on Host and SNI, so this uses node:http directly and sends exactly the headers
// given. Every request has a timeout; a refused or reset connection is an error, not a status.
import http from 'node:http';
import https from 'node:https';

export interface TestRequest {
  method?: string;
  /** Sent as given; `host` defaults to the URL's host. */
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** TLS only: the SNI name (default: the Host header's name). */
  servername?: string;
  /** TLS only: CA certificates to trust (PEM); without it the server certificate is not verified. */
  ca?: string | string[];
  timeoutMs?: number;
}

export interface TestResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json<T = unknown>(): T | undefined;
  /** TLS only: the certificate the server presented. */
  peerCertificate?: { subject?: Record<string, string>; subjectaltname?: string; fingerprint256?: string };
}

export function request(url: string, options: TestRequest = {}): Promise<TestResponse> {
  const target = new URL(url);
  const tls = target.protocol === 'https:';
  const headers: Record<string, string | string[]> = { host: target.host, ...options.headers };
  const hostHeader = String(headers.host).replace(/:\d+$/, '');
  return new Promise((resolve, reject) => {
    const req = (tls ? https : http).request(
      {
        method: options.method ?? 'GET',
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        headers,
        setHost: false,
        agent: false,
        timeout: options.timeoutMs ?? 5000,
        ...(tls
          ? {
              servername: options.servername ?? hostHeader,
              ca: options.ca,
              rejectUnauthorized: options.ca !== undefined,
            }
          : {}),
      },
      (res) => {
        // Read before the body ends: a closed TLS socket no longer has its peer's certificate.
        const socket = res.socket as unknown as { getPeerCertificate?: () => TestResponse['peerCertificate'] };
        const peerCertificate = tls ? socket.getPeerCertificate?.() : undefined;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString();
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json<T>() {
              try {
                return JSON.parse(body) as T;
              } catch {
                return undefined;
              }
            },
            peerCertificate,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${options.timeoutMs ?? 5000} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}
