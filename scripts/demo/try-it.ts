// The commands `npm start` prints for a person to try against the demo's Envoys, each with what it
// answers, and a check of each that the demo runs (from Node, not through a shell) before printing
// them, so the printed commands are known to work at that moment.
//
// Printed form (test/integration/operator-main-job.test.ts parses it):
//   # <what it shows>
//   <command: one shell line>
//   #   → answered by <backend>[ or <backend>]...   (the echo JSON's "name")
//   #   → prints: <exact output>
import * as grpc from '@grpc/grpc-js';
import { envoyListenerPort } from '../../operator/src/infra/names.ts';
import { backendService } from '../../test/harness/grpc-backend.ts';
import { request } from '../../test/harness/http-client.ts';

export interface TryIt {
  /** What the command shows, one line. */
  title: string;
  /** One line for sh or bash. */
  command: string;
  /** The expectation line after `→ `: `answered by a[ or b]` or `prints: <output>`. */
  expect: string;
  /** True when the demo itself gets the expected answer now. */
  check(): Promise<boolean>;
}

export interface TryItTargets {
  /** Test-network address of team A's Envoy (Gateway team-a/web). */
  web: string;
  /** Test-network address of team B's Envoy (Gateway team-b/api). */
  api: string;
  /** File with the CA of team A's HTTPS certificate. */
  caFile: string;
  caPem: string;
}

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

async function answeredBy(url: string, headers: Record<string, string>, names: string[], ca?: string) {
  try {
    const res = await request(url, { headers, ca, timeoutMs: 3000 });
    const name = res.json<{ name?: string }>()?.name;
    return res.status === 200 && name !== undefined && names.includes(name);
  } catch {
    return false;
  }
}

function curlHttp(hostHeader: string, url: string, extraHeaders: Record<string, string> = {}): string {
  const headers = Object.entries(extraHeaders)
    .map(([k, v]) => ` -H ${quote(`${k}: ${v}`)}`)
    .join('');
  return `curl -sS -H ${quote(`Host: ${hostHeader}`)}${headers} ${url}`;
}

type WhoClient = grpc.Client & {
  Who(
    request: Buffer,
    options: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null, reply?: Buffer) => void,
  ): void;
};

/** One unary call of /legate.test.Backend/Who through Envoy; resolves with the answer. */
export function callWho(address: string, port: number): Promise<string> {
  const Client = grpc.makeGenericClientConstructor(backendService, 'Backend');
  const client = new Client(`${address}:${port}`, grpc.credentials.createInsecure()) as unknown as WhoClient;
  return new Promise<string>((resolve, reject) => {
    client.Who(Buffer.alloc(0), { deadline: Date.now() + 3000 }, (err, reply) =>
      err ? reject(err) : resolve(reply?.toString() ?? ''),
    );
  }).finally(() => client.close());
}

let checkUsers = 0;

export function tryItCommands(t: TryItTargets): TryIt[] {
  const http = (address: string, port: number, path: string) => `http://${address}:${envoyListenerPort(port)}${path}`;
  const store = 'store.team-a.example.com';
  const checkout = 'checkout.team-a.example.com';
  const httpsPort = envoyListenerPort(443);
  const grpcPath = '/legate.test.Backend/Who';
  return [
    {
      title: `team-a/web, HTTPRoute store, rule split: 80% to store-v1, 20% to store-v2 (run it a few times)`,
      command: curlHttp(store, http(t.web, 80, '/')),
      expect: 'answered by store-v1 or store-v2',
      check: () => answeredBy(http(t.web, 80, '/'), { host: store }, ['store-v1', 'store-v2']),
    },
    {
      title: 'rule canary: the header x-canary: true goes to store-v2',
      command: curlHttp(store, http(t.web, 80, '/'), { 'x-canary': 'true' }),
      expect: 'answered by store-v2',
      check: () => answeredBy(http(t.web, 80, '/'), { host: store, 'x-canary': 'true' }, ['store-v2']),
    },
    {
      title: 'rule v2: paths under /v2 go to store-v2',
      command: curlHttp(store, http(t.web, 80, '/v2/items')),
      expect: 'answered by store-v2',
      check: () => answeredBy(http(t.web, 80, '/v2/items'), { host: store }, ['store-v2']),
    },
    {
      title: `the same over HTTPS (listener https, certificate from Secret team-a/team-a-cert; SNI ${store})`,
      command: `curl -sS --cacert ${t.caFile} --resolve ${store}:${httpsPort}:${t.web} https://${store}:${httpsPort}/v2/items`,
      expect: 'answered by store-v2',
      check: () => answeredBy(`https://${t.web}:${httpsPort}/v2/items`, { host: store }, ['store-v2'], t.caPem),
    },
    {
      title: 'HTTPRoute checkout, with FilterPolicy checkout-rate-limit (built-in filter legate-ratelimit)',
      command: curlHttp(checkout, http(t.web, 80, '/api/cart')),
      expect: 'answered by checkout',
      check: () => answeredBy(http(t.web, 80, '/api/cart'), { host: checkout }, ['checkout']),
    },
    {
      title: '3 requests a minute per x-user: the 4th is refused with 429 (another x-user value starts afresh)',
      command: `for i in 1 2 3 4; do curl -s -o /dev/null -w '%{http_code} ' -H ${quote(`Host: ${checkout}`)} -H 'x-user: alice' ${http(t.web, 80, '/api/cart')}; done; echo`,
      expect: 'prints: 200 200 200 429',
      // Checked with users of its own (a new one each time), so the printed command starts from a full bucket.
      check: async () => {
        const user = `npm-start-check-${checkUsers++}`;
        for (let i = 0; i < 4; i++) {
          const res = await request(http(t.web, 80, '/api/cart'), {
            headers: { host: checkout, 'x-user': user },
            timeoutMs: 3000,
          }).catch(() => undefined);
          if (res?.status === 429) return i === 3;
        }
        return false;
      },
    },
    {
      title: `team-b/api, GRPCRoute who: a gRPC call with curl alone (an empty request message: 5 zero bytes of gRPC framing; the answer's 5 are cut off)`,
      command: `printf '\\0\\0\\0\\0\\0' | curl -sS --http2-prior-knowledge -H 'content-type: application/grpc' -H 'te: trailers' --data-binary @- ${http(t.api, 8080, grpcPath)} | tail -c +6; echo`,
      expect: 'prints: who',
      check: async () => (await callWho(t.api, envoyListenerPort(8080)).catch(() => '')) === 'who',
    },
  ];
}
