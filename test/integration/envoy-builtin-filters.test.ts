// The built-in auth and rate-limit filters exactly as the chart ships them: the chart is rendered
// with its modules (scripts/helm-chart.ts sync-filters), its ConfigMaps and WasmFilters are applied
// to the operator's namespace as `helm install` would, a team attaches them to its routes with
// FilterPolicies, and real requests go through Envoy's V8: JWT (RS256, keys inline, tokens signed
// here with node:crypto), API keys, and a rate limit with its documented answer and recovery.
import assert from 'node:assert/strict';
import { createHash, createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { builtinWasm, MODULES, type ModuleName } from '../../filters/builtins/build.ts';
import { syncFilters } from '../../scripts/helm-chart.ts';
import type { EchoResponse } from '../harness/echo-backend.ts';
import { chartDir, helmCli, kubeVersion, parseObjects } from '../harness/helm.ts';
import { request, type TestResponse } from '../harness/http-client.ts';
import { testNetwork } from '../harness/netns.ts';
import { assertNoDeprecatedFeatures } from './envoy-traffic.ts';
import { type EnvoyPod, type GatewayEnv, type Manifest, startGatewayEnv } from './gateway-env.ts';
import { eventually, uniqueSuffix } from './operator-helpers.ts';

const legate = 'legate.dev/v1alpha1';
type Condition = { type: string; status: string; reason: string; message: string; observedGeneration?: number };

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** A compact RS256 JWS signed with `key`. */
function signJwt(key: KeyObject, kid: string, claims: Record<string, unknown>): string {
  const input = `${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(createSign('RSA-SHA256').update(input).sign(key))}`;
}

describe('built-in filters from the chart on a real Envoy: JWT, API keys, rate limit', () => {
  let env: GatewayEnv;
  let envoy: EnvoyPod;
  let team: string;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'legate-envoy-builtins-'));
  const issuer = 'https://idp.example.com';
  const idp = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
  // The identity provider's current key, published only at its JWKS URL (jwksUri).
  const rotated = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwksRequests: { path?: string; host?: string }[] = [];
  const idpServer = http.createServer((req, res) => {
    jwksRequests.push({ path: req.url, host: req.headers.host });
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        keys: [{ ...rotated.publicKey.export({ format: 'jwk' }), kid: 'idp-2', alg: 'RS256', use: 'sig' }],
      }),
    );
  });
  const apiKey = `key-${uniqueSuffix()}-secret`;
  const now = () => Math.floor(Date.now() / 1000);
  const token = (claims: Record<string, unknown>, key = idp.privateKey, kid = 'idp-1') =>
    signJwt(key, kid, { iss: issuer, aud: 'orders', sub: 'alice', iat: now(), exp: now() + 600, ...claims });
  // 12 per minute: a token back every 5 s, so three back-to-back requests empty the bucket of 3.
  const limit = { requests: 12, unit: 'minute', burst: 3 } as const;

  const route = (name: string, hostname: string): Manifest => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { namespace: team, name },
    spec: {
      parentRefs: [{ name: 'web' }],
      hostnames: [hostname],
      rules: [{ backendRefs: [{ name: 'orders', port: 80 }] }],
    },
  });
  const policy = (name: string, routeName: string, filter: ModuleName, config: unknown): Manifest => ({
    apiVersion: legate,
    kind: 'FilterPolicy',
    metadata: { namespace: team, name },
    spec: {
      targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: routeName }],
      // The chart installs the built-ins into the operator's namespace, which every team may use.
      filters: [{ name: filter, filterRef: { name: `legate-${filter}`, namespace: env.namespace }, config }],
    },
  });
  const get = (host: string, headers: Record<string, string> = {}, pathAndQuery = '/orders') =>
    request(envoy.url(80, pathAndQuery), { headers: { host, ...headers } });
  const echoOf = (res: TestResponse) => res.json<EchoResponse>();

  before(async () => {
    env = await startGatewayEnv({ allNamespaces: true });
    team = `team-${uniqueSuffix()}`;
    await env.createNamespace(team);

    // The chart as packaged for a release: the built modules and their schemas copied in, rendered
    // for the operator's namespace. Its built-in ConfigMaps and WasmFilters are applied unchanged.
    const shipped = (Object.keys(MODULES) as ModuleName[]).filter((n) => MODULES[n].shipped);
    for (const name of shipped) await builtinWasm(name);
    const packaged = path.join(tmp, 'legate');
    cpSync(chartDir, packaged, { recursive: true });
    await syncFilters(packaged);
    const helm = await helmCli();
    try {
      const rendered = parseObjects(
        await helm.ok('template', 'legate', packaged, '--namespace', env.namespace, ...kubeVersion),
      );
      const builtins = rendered.filter((o) => o.metadata?.labels?.['legate.dev/builtin-filter']);
      assert.deepEqual(
        builtins.filter((o) => o.kind === 'WasmFilter').map((o) => o.metadata?.name),
        shipped.map((n) => `legate-${n}`),
      );
      for (const obj of builtins) await env.apply({ ...obj, metadata: { ...obj.metadata, namespace: env.namespace } });
    } finally {
      helm.cleanup();
    }

    await env.gateway('web', [{ name: 'http', port: 80, protocol: 'HTTP' }], team);
    await env.echoService('orders', { namespace: team });
    for (const [name, host] of [
      ['jwt', 'jwt.example'],
      ['keys', 'keys.example'],
      ['limited', 'limited.example'],
      ['remote', 'remote.example'],
      ['open', 'open.example'],
    ] as const) {
      await env.apply(route(name, host));
    }
    await env.apply(
      policy('jwt', 'jwt', 'auth', {
        jwt: {
          issuer,
          audiences: ['orders'],
          jwks: { keys: [{ ...idp.publicKey.export({ format: 'jwk' }), kid: 'idp-1', alg: 'RS256', use: 'sig' }] },
          forwardClaims: { sub: 'x-user-id' },
        },
      }),
    );
    // The identity provider: an HTTP server in this process behind Service `idp`, which a route
    // makes a cluster of the Gateway's Envoys (`<namespace>/idp/80`), the filter's jwksUri cluster.
    const { nodeAddress } = testNetwork();
    await new Promise<void>((resolve) => idpServer.listen(0, nodeAddress, resolve));
    await env.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { namespace: team, name: 'idp' },
      spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    });
    await env.apply({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { namespace: team, name: 'idp', labels: { 'kubernetes.io/service-name': 'idp' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: (idpServer.address() as AddressInfo).port, protocol: 'TCP' }],
      endpoints: [{ addresses: [nodeAddress], conditions: { ready: true } }],
    });
    await env.apply({
      ...route('idp', 'idp.internal'),
      spec: {
        parentRefs: [{ name: 'web' }],
        hostnames: ['idp.internal'],
        rules: [{ backendRefs: [{ name: 'idp', port: 80 }] }],
      },
    });
    await env.apply(
      policy('remote', 'remote', 'auth', {
        jwt: {
          issuer,
          audiences: ['orders'],
          jwksUri: { cluster: `${team}/idp/80`, authority: 'idp.internal', path: '/.well-known/jwks.json' },
        },
      }),
    );
    await env.apply(
      policy('keys', 'keys', 'auth', {
        apiKeys: { keys: [{ sha256: createHash('sha256').update(apiKey).digest('hex'), consumer: 'billing-batch' }] },
      }),
    );
    await env.apply(
      policy('limited', 'limited', 'ratelimit', {
        rules: [{ name: 'per-client', descriptors: ['client_ip'], ...limit }],
      }),
    );
    envoy = await env.envoy('web', team);
  });

  after(async () => {
    idpServer.close();
    await env?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("accepts the chart's WasmFilters and the FilterPolicies that use them", async () => {
    for (const name of ['legate-auth', 'legate-ratelimit']) {
      const ready = await eventually(`WasmFilter ${name} Ready`, async () => {
        const f = await env.kube.get<Manifest>(legate, 'WasmFilter', env.namespace, name);
        const c = (f?.status?.conditions as Condition[] | undefined)?.find((x) => x.type === 'Ready');
        return c && c.status !== 'Unknown' ? c : undefined;
      });
      assert.equal(ready.status, 'True', `${name}: ${ready.reason}: ${ready.message}`);
    }
    for (const name of ['jwt', 'remote', 'keys', 'limited']) {
      const accepted = await eventually(`FilterPolicy ${name} Accepted`, async () => {
        const p = await env.kube.get<Manifest>(legate, 'FilterPolicy', team, name);
        const ancestor = p?.status?.ancestors?.find(
          (a: { controllerName: string }) => a.controllerName === env.controllerName,
        );
        return (ancestor?.conditions as Condition[] | undefined)?.find(
          (c) => c.type === 'Accepted' && c.observedGeneration === p?.metadata?.generation,
        );
      });
      assert.equal(accepted.status, 'True', `${name}: ${accepted.reason}: ${accepted.message}`);
    }
  });

  it('JWT: a request without a token gets 401 and a Bearer challenge, and never reaches the backend', async () => {
    const res = await eventually('the auth filter to answer', async () => {
      const r = await get('jwt.example');
      return r.status === 401 ? r : undefined;
    });
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="legate"');
    assert.equal(res.json<{ error: string }>()?.error, 'missing_credentials');
    assert.equal(res.headers['x-echo-backend'], undefined, 'answered by the filter, not the backend');
  });

  it('JWT: a valid RS256 token reaches the backend, with its subject forwarded and the token removed', async () => {
    const res = await eventually('a valid token to pass', async () => {
      const r = await get('jwt.example', { authorization: `Bearer ${token({})}`, 'x-user-id': 'mallory' });
      return r.status === 200 ? r : undefined;
    });
    const echo = echoOf(res);
    assert.equal(echo?.name, 'orders-0');
    assert.equal(echo?.path, '/orders');
    assert.equal(echo?.headers['x-user-id'], 'alice', 'the claim, never the client-sent header');
    assert.equal(echo?.headers.authorization, undefined, 'the token is not forwarded');
  });

  it('JWT: an expired token, another audience, another issuer or a key the filter does not know get 401', async () => {
    const cases: [string, string, RegExp][] = [
      ['expired', token({ iat: now() - 7200, exp: now() - 3600 }), /token has expired/],
      ['wrong audience', token({ aud: 'billing' }), /aud/],
      ['wrong issuer', token({ iss: 'https://evil.example' }), /iss/],
      ['unknown signer', token({}, stranger.privateKey), /signature/],
    ];
    for (const [what, jwt, description] of cases) {
      const res = await get('jwt.example', { authorization: `Bearer ${jwt}` });
      assert.equal(res.status, 401, `${what}: ${res.status} ${res.body}`);
      const challenge = String(res.headers['www-authenticate']);
      assert.match(challenge, /^Bearer realm="legate", error="invalid_token", error_description="/, what);
      assert.match(challenge, description, what);
      assert.equal(res.json<{ error: string }>()?.error, 'invalid_token', what);
      assert.equal(res.headers['x-echo-backend'], undefined, what);
    }
  });

  it("JWT with jwksUri: the filter fetches the keys through the Gateway's cluster and takes tokens they sign", async () => {
    const res = await eventually('a token signed with the fetched key to pass', async () => {
      const r = await get('remote.example', { authorization: `Bearer ${token({}, rotated.privateKey, 'idp-2')}` });
      return r.status === 200 ? r : undefined;
    });
    assert.equal(echoOf(res)?.name, 'orders-0');
    assert.ok(jwksRequests.length > 0);
    assert.deepEqual(jwksRequests[0], { path: '/.well-known/jwks.json', host: 'idp.internal' });
    const inlineOnly = await get('remote.example', { authorization: `Bearer ${token({})}` });
    assert.equal(inlineOnly.status, 401, 'a key the JWKS does not publish');
  });

  it('API key: a known key reaches the backend as its consumer; an unknown one gets 401', async () => {
    const ok = await eventually('a known API key to pass', async () => {
      const r = await get('keys.example', { 'x-api-key': apiKey, 'x-consumer': 'admin' });
      return r.status === 200 ? r : undefined;
    });
    assert.equal(echoOf(ok)?.headers['x-consumer'], 'billing-batch', 'the filter names the consumer, not the client');
    assert.equal(echoOf(ok)?.headers['x-api-key'], undefined, 'the key is not forwarded');

    const bad = await get('keys.example', { 'x-api-key': `${apiKey}-guess` });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers['www-authenticate'], 'ApiKey realm="legate"');
    assert.deepEqual(bad.json(), { error: 'invalid_api_key', message: 'API key is not valid' });

    const none = await get('keys.example');
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'ApiKey realm="legate"');
  });

  it('rate limit: the burst passes with RateLimit headers, the next request gets 429 with Retry-After, and the bucket refills', async () => {
    // The filter's first answer proves its configuration arrived; RateLimit-Reset says when the
    // bucket is full again.
    const first = await eventually('the rate limit to be configured', async () => {
      const r = await get('limited.example');
      return r.headers['ratelimit-limit'] !== undefined ? r : undefined;
    });
    const refill = Number(first.headers['ratelimit-reset']);
    assert.ok(refill >= 0 && refill <= 15, `ratelimit-reset ${first.headers['ratelimit-reset']}`);
    await new Promise((r) => setTimeout(r, refill * 1000 + 250));
    const remaining: string[] = [];
    for (let i = 0; i < limit.burst; i++) {
      const r = await get('limited.example');
      assert.equal(r.status, 200, r.body);
      assert.equal(echoOf(r)?.name, 'orders-0');
      assert.equal(r.headers['ratelimit-limit'], String(limit.requests));
      remaining.push(String(r.headers['ratelimit-remaining']));
    }
    assert.deepEqual(remaining, ['2', '1', '0']);

    const limited = await get('limited.example');
    assert.equal(limited.status, 429, limited.body);
    assert.equal(limited.headers['x-echo-backend'], undefined, 'answered by the filter, not the backend');
    assert.equal(limited.headers['ratelimit-limit'], String(limit.requests));
    assert.equal(limited.headers['ratelimit-remaining'], '0');
    const retryAfter = Number(limited.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 5, `retry-after ${limited.headers['retry-after']}`);
    const reset = Number(limited.headers['ratelimit-reset']);
    assert.ok(reset >= retryAfter && reset <= 15, `ratelimit-reset ${limited.headers['ratelimit-reset']}`);
    assert.equal(limited.headers['content-type'], 'application/json');
    assert.deepEqual(limited.json(), {
      error: 'rate_limited',
      message: 'too many requests',
      rule: 'per-client',
      retryAfterSeconds: retryAfter,
    });

    // Retry-After is a promise: after that many seconds one request passes again.
    await new Promise((r) => setTimeout(r, retryAfter * 1000 + 250));
    const again = await get('limited.example');
    assert.equal(again.status, 200, again.body);
    assert.equal(echoOf(again)?.name, 'orders-0');
  });

  it('runs the filters only on the routes their policies target', async () => {
    const res = await get('open.example');
    assert.equal(res.status, 200, res.body);
    assert.equal(res.headers['ratelimit-limit'], undefined);
    assert.equal(echoOf(res)?.headers['x-user-id'], undefined);
  });

  it('uses no deprecated Envoy feature and runs the modules in V8 without failures', async () => {
    await assertNoDeprecatedFeatures(envoy);
    const stats = await envoy.stats();
    const v8 = [...stats.keys()].filter((k) => /^wasm\.envoy\.wasm\.runtime\.v8\./.test(k));
    assert.ok(v8.length > 0, 'the modules run in V8');
    assert.doesNotMatch(envoy.logs(), /wasm log.*(critical|panic|abort)/i);
  });
});
