// The filter SDK's standard library in real Envoy 1.40: the stdlib test module
// (filters/sdk/testdata/stdlib) delivered as a WasmFilter on a route. Random ids come from Envoy's
// WASI random_get, an A/B bucketer built on them (cookie issued when absent, FNV-1a bucket, SHA-256)
// behaves as on the test host, and every deterministic helper answers in Envoy exactly what it
// answers on the test host (filters/host) for the same request.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { builtModule } from '../../filters/cli/build-examples.ts';
import { FilterHost } from '../../filters/host/index.ts';
import type { EchoResponse } from '../harness/echo-backend.ts';
import { request } from '../harness/http-client.ts';
import { assertNoDeprecatedFeatures, wasmFilterManifests } from './envoy-traffic.ts';
import { type EnvoyPod, type GatewayEnv, type Manifest, startGatewayEnv } from './gateway-env.ts';
import { eventually } from './operator-helpers.ts';

const fnv32 = (text: string) => {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(text)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
};

describe('real Envoy: the SDK standard library (random, hashing, cookies, URLs, header checks)', () => {
  let env: GatewayEnv;
  let envoy: EnvoyPod;
  let wasm: Uint8Array;
  const legate = 'legate.dev/v1alpha1';

  const send = (headers: Record<string, string>) =>
    request(envoy.url(80, '/ab'), { headers: { host: 'ab.example', ...headers }, timeoutMs: 5000 });

  before(async () => {
    wasm = new Uint8Array(readFileSync(await builtModule('stdlib')));
    env = await startGatewayEnv();
    await env.gateway('web', [{ name: 'http', port: 80, protocol: 'HTTP' }]);
    await env.echoService('shop');
    const manifests: Manifest[] = [
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { namespace: env.namespace, name: 'ab' },
        spec: {
          parentRefs: [{ name: 'web' }],
          hostnames: ['ab.example'],
          rules: [{ backendRefs: [{ name: 'shop', port: 80 }] }],
        },
      },
      ...wasmFilterManifests(env.namespace, 'stdlib', wasm),
      {
        apiVersion: legate,
        kind: 'FilterPolicy',
        metadata: { namespace: env.namespace, name: 'stdlib' },
        spec: {
          targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'ab' }],
          filters: [{ name: 'stdlib', filterRef: { name: 'stdlib' }, config: {} }],
        },
      },
    ];
    for (const m of manifests) await env.apply(m);
    envoy = await env.envoy('web');
    await eventually('the filter on the route', async () => {
      const r = await send({ 'x-fn': 'hex', 'x-arg': 'ab' });
      return r.status === 200 && r.body.toString() === 'ab 1' ? true : undefined;
    });
  });

  after(async () => {
    await envoy?.stop();
    await env?.stop();
  });

  it('an A/B bucketer: issues a random id cookie when absent, buckets by it, keeps it when sent back', async () => {
    const first = await send({ 'x-fn': 'ab' });
    assert.equal(first.status, 200);
    const setCookie = first.headers['set-cookie'];
    assert.equal(setCookie?.length, 1, JSON.stringify(first.headers));
    const m = /^uid=([A-Za-z0-9_-]{22}); Path=\/; Max-Age=2592000; HttpOnly; SameSite=Lax$/.exec(setCookie[0]!);
    assert.ok(m, setCookie[0]);
    const uid = m[1]!;
    const echo = first.json<EchoResponse>();
    assert.equal(echo?.headers['x-bucket'], String(fnv32(uid) % 100));
    assert.equal(echo?.headers['x-uid-sha256'], createHash('sha256').update(uid).digest('hex'));

    const back = await send({ 'x-fn': 'ab', cookie: `theme=dark; uid=${uid}` });
    assert.equal(back.headers['set-cookie'], undefined, 'no new cookie when the request has one');
    assert.equal(back.json<EchoResponse>()?.headers['x-bucket'], String(fnv32(uid) % 100));

    // Envoy's random_get: every new visitor gets a new id.
    const ids = new Set([uid]);
    for (let i = 0; i < 5; i++)
      ids.add(/^uid=([^;]+)/.exec((await send({ 'x-fn': 'ab' })).headers['set-cookie']![0]!)![1]!);
    assert.equal(ids.size, 6);
  });

  it('random ids, UUIDs and bounded integers from Envoy have their shapes and differ per call', async () => {
    const bodies = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const r = await send({ 'x-fn': 'random' });
      assert.equal(r.status, 200);
      const body = r.body.toString();
      assert.match(
        body,
        /^[0-9a-f]{16} [A-Za-z0-9_-]{22} [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12} [0-9]$/,
      );
      bodies.add(body);
    }
    assert.equal(bodies.size, 5);
  });

  it('every deterministic helper answers in Envoy what it answers on the test host', async () => {
    const host = await FilterHost.load(wasm, { configuration: {} });
    const hex = (s: string) => Buffer.from(s).toString('hex');
    const calls: Array<Record<string, string>> = [
      { 'x-fn': 'sha256', 'x-arg': hex('abc') },
      { 'x-fn': 'sha256-text', 'x-arg': 'tenant-a' },
      { 'x-fn': 'sha512', 'x-arg': hex('abc') },
      { 'x-fn': 'sha1', 'x-arg': hex('abc') },
      { 'x-fn': 'hmac', 'x-arg': hex('Jefe'), 'x-arg2': hex('what do ya want for nothing?') },
      { 'x-fn': 'fnv', 'x-arg': 'foobar' },
      { 'x-fn': 'cookies', 'x-arg': 'uid', cookie: 'a=1; b="two"; uid=xyz', 'x-arg2': 'c=3; uid=in' },
      { 'x-fn': 'set-cookie', 'x-arg': 'uid', 'x-arg2': 'abc', 'x-attrs': 'path=/;maxAge=60;secure;sameSite=Strict' },
      { 'x-fn': 'set-cookie', 'x-arg': 'uid', 'x-arg2': 'a b' },
      { 'x-fn': 'http-date', 'x-arg': '784111777000' },
      { 'x-fn': 'query', 'x-arg': '/api?a=1&b=x%20y&a=2&e=a+b&d=%E2%82%AC', 'x-arg2': 'a' },
      { 'x-fn': 'url', 'x-arg': 'HTTPS://User@Example.COM:8443/a?x=1#top' },
      { 'x-fn': 'pct-decode', 'x-arg': '%E2%82%AC+x', 'x-arg2': 'plus' },
      { 'x-fn': 'header-check', 'x-arg': 'x-team', 'x-arg2': 'tab\tinside' },
      { 'x-fn': 'json', 'x-arg': '{"claims":{"tenant":"acme"},"groups":["a",2]}', 'x-arg2': '/groups' },
      { 'x-fn': 'json-build', 'x-arg': 'no "tenant"' },
      { 'x-fn': 'http-date-parse', 'x-arg': 'Sun, 06 Nov 1994 08:49:37 GMT' },
      { 'x-fn': 'log', 'x-arg': 'acme corp' },
    ];
    const get = { ':method': 'GET', ':path': '/ab', ':authority': 'ab.example', ':scheme': 'http' };
    for (const headers of calls) {
      const s = host.newStream();
      s.sendRequestHeaders({ ...get, ...headers });
      const r = await send(headers);
      assert.equal(r.status, 200, `${headers['x-fn']}: ${r.body}`);
      assert.equal(r.body.toString(), s.localResponse?.body, JSON.stringify(headers));
    }
  });

  it("a structured log line reaches Envoy's log as the module wrote it", async () => {
    await send({ 'x-fn': 'log', 'x-arg': 'acme corp' });
    await eventually('the log line', async () =>
      envoy.logs().includes('stdlib: routed tenant="acme corp" status=400 ratio=0.25 cached=false empty=""')
        ? true
        : undefined,
    );
  });

  it('uses no deprecated Envoy feature', async () => {
    await assertNoDeprecatedFeatures(envoy);
  });
});
