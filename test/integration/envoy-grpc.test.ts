// GRPCRoute on real Envoy 1.40: a @grpc/grpc-js client calls through an Envoy pod (HTTP/2 cleartext on
// the Gateway's HTTP listener) to gRPC backends behind Services with `appProtocol: kubernetes.io/h2c`.
// Which rule answered is visible as response metadata the rule sets (`x-rule`); which backend
// answered is the reply itself (test/harness/grpc-backend.ts answers with its name).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { envoyListenerPort } from '../../operator/src/infra/names.ts';
import { callsPath, rawCodec } from '../harness/grpc-backend.ts';
import { assertNoDeprecatedFeatures, assertNoRejectedConfig, countBy, grpcRoute } from './envoy-traffic.ts';
import type { EnvoyPod, GatewayEnv } from './gateway-env.ts';
import { startGatewayEnv } from './gateway-env.ts';
import { eventually } from './operator-helpers.ts';

interface Reply {
  /** The backend's name, or `code <n>` for a failed call. */
  who: string;
  code: grpc.status;
  metadata: Record<string, string>;
}

const tag = (rule: string) => [
  { type: 'ResponseHeaderModifier', responseHeaderModifier: { set: [{ name: 'x-rule', value: rule }] } },
];
const to = (name: string, weight?: number) => ({ name, port: 50051, ...(weight === undefined ? {} : { weight }) });

describe('GRPCRoute on real Envoy', () => {
  let env: GatewayEnv;
  let envoy: EnvoyPod;
  let mirrorPort: number;
  const clients = new Map<string, grpc.Client>();

  /** One unary call through Envoy with `authority` as :authority. */
  function call(
    authority: string,
    path: string,
    metadata: Record<string, string> = {},
    deadlineMs = 5000,
  ): Promise<Reply> {
    let client = clients.get(authority);
    if (!client) {
      client = new grpc.Client(`${envoy.address}:${envoyListenerPort(80)}`, grpc.credentials.createInsecure(), {
        'grpc.default_authority': authority,
      });
      clients.set(authority, client);
    }
    const md = new grpc.Metadata();
    for (const [key, value] of Object.entries(metadata)) md.set(key, value);
    return new Promise((resolve) => {
      let received: Record<string, string> = {};
      const c = client.makeUnaryRequest(
        path,
        rawCodec.serialize,
        rawCodec.deserialize,
        Buffer.alloc(0),
        md,
        { deadline: Date.now() + deadlineMs },
        (err, value) =>
          resolve({
            who: err ? `code ${err.code}` : String(value),
            code: err?.code ?? grpc.status.OK,
            metadata: { ...received, ...(err ? Object.fromEntries(mapOf(err.metadata)) : {}) },
          }),
      );
      c.on('metadata', (m: grpc.Metadata) => {
        received = Object.fromEntries(mapOf(m));
      });
    });
  }

  before(async () => {
    env = await startGatewayEnv();
    const ns = env.namespace;
    await env.gateway('rpc', [{ name: 'grpc', port: 80, protocol: 'HTTP' }]);
    await env.grpcService('a');
    mirrorPort = ((await env.grpcService('b'))[0] as { port: number }).port;
    await env.apply(
      grpcRoute(ns, 'methods', {
        parentRefs: [{ name: 'rpc' }],
        hostnames: ['methods.grpc.example'],
        rules: [
          // Listed least specific first: precedence must come from the matches, not the order.
          {
            matches: [{ method: { type: 'RegularExpression', service: 'legate\\.test\\..*', method: 'Re.*' } }],
            filters: tag('regex'),
            backendRefs: [to('a')],
          },
          { matches: [{ method: { method: 'Who' } }], filters: tag('method-only'), backendRefs: [to('a')] },
          {
            matches: [{ method: { service: 'legate.test.Admin' } }],
            filters: tag('service-only'),
            backendRefs: [to('b')],
          },
          {
            matches: [{ method: { service: 'legate.test.Backend', method: 'Hello' } }],
            filters: tag('service-and-method'),
            backendRefs: [to('a')],
          },
        ],
      }),
    );
    await env.apply(
      grpcRoute(ns, 'headers', {
        parentRefs: [{ name: 'rpc' }],
        hostnames: ['headers.grpc.example'],
        rules: [
          { matches: [{ headers: [{ name: 'X-Tier', value: 'gold' }] }], filters: tag('gold'), backendRefs: [to('b')] },
          {
            matches: [{ headers: [{ type: 'RegularExpression', name: 'x-user', value: 'adm.*' }] }],
            filters: tag('admin'),
            backendRefs: [to('a')],
          },
          {
            filters: [
              ...tag('default'),
              {
                type: 'RequestHeaderModifier',
                requestHeaderModifier: { set: [{ name: 'x-added', value: 'by-gateway' }], remove: ['x-secret'] },
              },
            ],
            backendRefs: [to('a')],
          },
        ],
      }),
    );
    await env.apply(
      grpcRoute(ns, 'mirror', {
        parentRefs: [{ name: 'rpc' }],
        hostnames: ['mirror.grpc.example'],
        rules: [
          {
            filters: [{ type: 'RequestMirror', requestMirror: { backendRef: to('b') } }],
            backendRefs: [to('a')],
          },
        ],
      }),
    );
    await env.apply(
      grpcRoute(ns, 'weights', {
        parentRefs: [{ name: 'rpc' }],
        hostnames: ['weights.grpc.example'],
        rules: [{ backendRefs: [to('a', 80), to('b', 20)] }],
      }),
    );
    await env.apply(
      grpcRoute(ns, 'missing', {
        parentRefs: [{ name: 'rpc' }],
        hostnames: ['missing.grpc.example'],
        rules: [
          { matches: [{ method: { service: 'legate.test.Backend', method: 'Who' } }], backendRefs: [to('ghost')] },
          { matches: [{ method: { service: 'legate.test.Backend', method: 'Hello' } }], backendRefs: [to('a', 0)] },
          {
            matches: [{ method: { service: 'legate.test.Admin', method: 'Who' } }],
            backendRefs: [to('a'), to('ghost')],
          },
        ],
      }),
    );
    envoy = await env.envoy('rpc');
    await eventually(
      'the GRPCRoutes to reach Envoy',
      async () => {
        const replies = await Promise.all(
          ['methods', 'headers', 'weights'].map((h) => call(`${h}.grpc.example`, '/legate.test.Backend/Hello')),
        );
        return replies.every((r) => r.code === grpc.status.OK) || undefined;
      },
      30_000,
    );
  });

  after(async () => {
    for (const client of clients.values()) client.close();
    await env?.stop();
  });

  it('matches service and method exactly, by service, by method and by regular expression, most specific first', async () => {
    const cases: [string, string][] = [
      ['/legate.test.Backend/Hello', 'service-and-method a-0'],
      ['/legate.test.Admin/Who', 'service-only b-0'],
      ['/legate.test.Admin/Reset', 'service-only b-0'],
      ['/legate.test.Backend/Who', 'method-only a-0'],
      ['/legate.test.Backend/Reset', 'regex a-0'],
    ];
    const got: string[] = [];
    for (const [path] of cases) {
      const r = await call('methods.grpc.example', path);
      got.push(`${path} → ${r.metadata['x-rule']} ${r.who}`);
    }
    assert.deepEqual(
      got,
      cases.map(([path, want]) => `${path} → ${want}`),
    );
    const unmatched = await call('methods.grpc.example', '/other.Service/Hello');
    assert.equal(unmatched.code, grpc.status.UNIMPLEMENTED, JSON.stringify(unmatched));
    assert.equal(unmatched.metadata['x-rule'], undefined);
  });

  it('matches headers exactly (names case-insensitive) and by regular expression; modifies request headers', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ 'x-tier': 'gold' }, 'gold b-0'],
      [{ 'x-tier': 'silver' }, 'default a-0'],
      [{ 'x-user': 'admin' }, 'admin a-0'],
      [{ 'x-user': 'root' }, 'default a-0'],
      [{}, 'default a-0'],
    ];
    const got: string[] = [];
    for (const [metadata] of cases) {
      const r = await call('headers.grpc.example', '/legate.test.Backend/Who', metadata);
      got.push(`${JSON.stringify(metadata)} → ${r.metadata['x-rule']} ${r.who}`);
    }
    assert.deepEqual(
      got,
      cases.map(([metadata, want]) => `${JSON.stringify(metadata)} → ${want}`),
    );
    const r = await call('headers.grpc.example', '/legate.test.Backend/Who', { 'x-secret': 's3cr3t', 'x-kept': 'yes' });
    assert.equal(r.metadata['echo-x-added'], 'by-gateway');
    assert.equal(r.metadata['echo-x-kept'], 'yes');
    assert.equal(r.metadata['echo-x-secret'], undefined);
  });

  it('mirrors a call to the mirror backend, and answers from the real one', async () => {
    const id = randomBytes(6).toString('hex');
    const r = await call('mirror.grpc.example', '/legate.test.Backend/Hello', { 'x-call-id': id });
    assert.equal(r.who, 'a-0');
    const direct = new grpc.Client(`${env.backends.address}:${mirrorPort}`, grpc.credentials.createInsecure());
    try {
      const copy = await eventually('the mirrored call', async () => {
        const body = await new Promise<Buffer>((resolve, reject) =>
          direct.makeUnaryRequest(callsPath, rawCodec.serialize, rawCodec.deserialize, Buffer.alloc(0), (err, value) =>
            err || !value ? reject(err) : resolve(value),
          ),
        );
        const calls = JSON.parse(body.toString()) as { path: string; metadata: Record<string, string> }[];
        return calls.find((c) => c.metadata['x-call-id'] === id);
      });
      assert.equal(copy.path, '/legate.test.Backend/Hello');
    } finally {
      direct.close();
    }
  });

  it('lets a call run past Envoy’s default 15 s route timeout (GRPCRoutes have no timeout; the client’s deadline rules)', async () => {
    const r = await call('weights.grpc.example', '/legate.test.Backend/Who', { 'x-delay-ms': '16000' }, 25_000);
    assert.equal(r.code, grpc.status.OK, JSON.stringify(r));
  });

  it('splits calls 80/20 by weight', async () => {
    const counts = await countBy(300, async () => (await call('weights.grpc.example', '/legate.test.Backend/Who')).who);
    const a = counts.get('a-0') ?? 0;
    assert.equal(a + (counts.get('b-0') ?? 0), 300, JSON.stringify([...counts]));
    // Binomial(300, 0.8): mean 240, sd 6.9; ±5 sd.
    assert.ok(a >= 205 && a <= 275, `80/20 expected, got ${JSON.stringify([...counts])}`);
  });

  it('answers UNAVAILABLE for a missing backend, all weights 0, and a missing backend’s share (the GRPCRoute spec)', async () => {
    const host = 'missing.grpc.example';
    assert.equal((await call(host, '/legate.test.Backend/Who')).who, `code ${grpc.status.UNAVAILABLE}`);
    assert.equal((await call(host, '/legate.test.Backend/Hello')).who, `code ${grpc.status.UNAVAILABLE}`);
    const counts = await countBy(100, async () => (await call(host, '/legate.test.Admin/Who')).who);
    const failed = counts.get(`code ${grpc.status.UNAVAILABLE}`) ?? 0;
    assert.equal(failed + (counts.get('a-0') ?? 0), 100, JSON.stringify([...counts]));
    // Binomial(100, 0.5): sd 5; ±5 sd.
    assert.ok(failed >= 25 && failed <= 75, `half the calls should fail, got ${JSON.stringify([...counts])}`);
  });

  it('accepted every update and used no deprecated Envoy feature', async () => {
    await assertNoRejectedConfig(envoy);
    await assertNoDeprecatedFeatures(envoy);
  });
});

function mapOf(m: grpc.Metadata | undefined): [string, string][] {
  return Object.entries(m?.getMap() ?? {}).map(([k, v]) => [k, String(v)]);
}
