// The built auth and rate-limit modules on two hosts: Legate's TypeScript host (V8) and an independent
// one, the wazero-based proxytest host of the proxy-wasm Go SDK (test/tools/proxytest, which serves
// the clock Envoy provides and proxytest lacks from a test clock). The same requests at the same test
// times must get the same answers on both — status, local-reply body and headers, the headers the
// upstream and the client see — and the answers the issue asks for. Differences between proxytest
// and Envoy are in docs/filters/hosts.md.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { goTool } from '../../test/harness/go-tools.ts';
import type { HeaderPairs } from '../host/index.ts';
import { FilterHost, TestClock } from '../host/index.ts';
import type { Scenario, ScenarioRequest } from '../host/scenario.ts';
import { ALGS, type Alg, Signer } from './auth/jwt-tokens.ts';
import { builtinWasm, wasmPath } from './build.ts';

/** A scenario with a test clock: the host's time starts at timeMs, each request first moves it. */
type TimedScenario = Omit<Scenario, 'requests'> & {
  timeMs: number;
  requests: Array<ScenarioRequest & { advanceMs?: number }>;
};

/** What a client and the upstream see of one request. */
type Seen = {
  status: number;
  body: string | null;
  /** The local reply's headers, or the response headers the client got. */
  clientHeaders: HeaderPairs | null;
  /** The request headers that reached the upstream (null when answered locally). */
  upstreamHeaders: HeaderPairs | null;
};

type Outcome = {
  localResponse: { status: number; body: string; headers: HeaderPairs } | null;
  requestHeaders: HeaderPairs;
  responseHeaders: HeaderPairs | null;
};

function seen(o: Outcome): Seen {
  const local = o.localResponse;
  if (local) return { status: local.status, body: local.body, clientHeaders: local.headers, upstreamHeaders: null };
  const status = Number(o.responseHeaders?.find(([k]) => k === ':status')?.[1] ?? 0);
  return { status, body: null, clientHeaders: o.responseHeaders, upstreamHeaders: o.requestHeaders };
}

let proxytest: string;

function onProxytest(s: TimedScenario): Seen[] {
  const r = spawnSync(proxytest, [], { input: JSON.stringify(s), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`proxytest failed (${r.status}): ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { configured: boolean; requests: Outcome[] };
  assert.ok(out.configured, 'configured on proxytest');
  return out.requests.map(seen);
}

async function onOurHost(s: TimedScenario): Promise<Seen[]> {
  const host = await FilterHost.load(s.wasm, { configuration: s.configuration, clock: new TestClock(s.timeMs) });
  assert.ok(host.configured, host.logMessages().join('\n'));
  return s.requests.map((r) => {
    host.advance(r.advanceMs ?? 0);
    const stream = host.newStream();
    stream.sendRequestHeaders(r.requestHeaders, !r.responseHeaders?.length);
    const local = stream.localResponse;
    if (!local && r.responseHeaders?.length) stream.sendResponseHeaders(r.responseHeaders, true);
    stream.complete();
    return seen({
      localResponse: local,
      requestHeaders: stream.request.headers.pairs,
      responseHeaders: stream.response.headers.size > 0 ? stream.response.headers.pairs : null,
    });
  });
}

/**
 * Runs s on both hosts, asserts they agree, and returns what our host saw. `aliased` names headers
 * whose values the filter passes from one reused buffer: proxytest keeps pointers into module memory
 * instead of copying as Envoy does, so it reads the last value written there (docs/filters/hosts.md);
 * their values are compared on our host only.
 */
async function bothHosts(s: TimedScenario, aliased: string[] = []): Promise<Seen[]> {
  const ours = await onOurHost(s);
  const mask = (v: Seen): Seen =>
    v.body !== null
      ? v // a local reply's headers travel in one serialized buffer
      : { ...v, clientHeaders: v.clientHeaders?.map(([k, x]) => [k, aliased.includes(k) ? '(aliased)' : x]) ?? null };
  assert.deepEqual(onProxytest(s).map(mask), ours.map(mask));
  return ours;
}

const T0 = Date.UTC(2026, 0, 1);
const nowSeconds = T0 / 1000;
const get: HeaderPairs = [
  [':method', 'GET'],
  [':path', '/orders'],
  [':authority', 'api.example'],
];
const ok: HeaderPairs = [[':status', '200']];
const header = (v: Seen, name: string) => (v.clientHeaders ?? []).find(([k]) => k === name)?.[1];

before(async () => {
  proxytest = await goTool('proxytest');
});

describe('cross-check: built-in auth filter on our host and on proxytest', () => {
  let signer: Signer;
  before(async () => {
    await builtinWasm('auth');
    signer = new Signer();
  });

  const issuer = 'https://idp.example';
  const jwtConfig = () => ({
    jwt: { issuer, audiences: ['orders'], jwks: signer.jwks(), forwardClaims: { sub: 'x-user' } },
  });

  /** The six cases of the issue for one algorithm, with the status each must get. */
  function cases(alg: Alg): Array<{ name: string; token: string; status: number }> {
    const claims = { iss: issuer, aud: 'orders', sub: `user-${alg}`, exp: nowSeconds + 600 };
    const valid = signer.token(alg, claims);
    const [h, , sig] = valid.split('.');
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url');
    return [
      { name: 'valid', token: valid, status: 200 },
      { name: 'expired', token: signer.token(alg, { ...claims, exp: nowSeconds - 600 }), status: 401 },
      { name: 'not yet valid', token: signer.token(alg, { ...claims, nbf: nowSeconds + 600 }), status: 401 },
      { name: 'wrong issuer', token: signer.token(alg, { ...claims, iss: 'https://evil.example' }), status: 401 },
      { name: 'wrong audience', token: signer.token(alg, { ...claims, aud: 'billing' }), status: 401 },
      { name: 'tampered payload', token: `${h}.${forged}.${sig}`, status: 401 },
    ];
  }

  test('every algorithm: valid, expired, not yet valid, wrong iss, wrong aud, tampered', async () => {
    const all = ALGS.flatMap((alg) => cases(alg).map((c) => ({ ...c, alg })));
    const s: TimedScenario = {
      wasm: wasmPath('auth'),
      configuration: JSON.stringify(jwtConfig()),
      timeMs: T0,
      metrics: [],
      requests: all.map((c) => ({
        requestHeaders: [...get, ['authorization', `Bearer ${c.token}`], ['x-user', 'spoofed']],
        responseHeaders: ok,
      })),
    };
    const seenBy = await bothHosts(s);
    all.forEach((c, i) => {
      const v = seenBy[i]!;
      assert.equal(v.status, c.status, `${c.alg} ${c.name}`);
      if (c.status === 200) {
        assert.equal(v.upstreamHeaders?.find(([k]) => k === 'x-user')?.[1], `user-${c.alg}`);
        assert.ok(!v.upstreamHeaders?.some(([k]) => k === 'authorization'), 'token stripped');
      } else {
        assert.equal(JSON.parse(v.body!).error, 'invalid_token', `${c.alg} ${c.name}`);
        assert.match(header(v, 'www-authenticate') ?? '', /^Bearer realm="legate", error="invalid_token"/);
      }
    });
  });

  test('a cached token stops passing once the test clock passes its exp (+ skew)', async () => {
    const token = signer.token('RS256', { iss: issuer, aud: 'orders', sub: 'carol', exp: nowSeconds + 30 });
    const request = (advanceMs: number) => ({
      advanceMs,
      requestHeaders: [...get, ['authorization', `Bearer ${token}`]] as HeaderPairs,
      responseHeaders: ok,
    });
    const s: TimedScenario = {
      wasm: wasmPath('auth'),
      configuration: JSON.stringify(jwtConfig()),
      timeMs: T0,
      metrics: [],
      // Verified, then from the cache twice (the last just inside exp + 60 s skew), then expired.
      requests: [request(0), request(1000), request(88_000), request(1000)],
    };
    const seenBy = await bothHosts(s);
    assert.deepEqual(
      seenBy.map((v) => v.status),
      [200, 200, 200, 401],
    );
    assert.equal(JSON.parse(seenBy[3]!.body!).message, 'token has expired');
  });

  test('API keys: a known key passes as its consumer, an unknown or missing key is 401', async () => {
    const sha256 = (k: string) => createHash('sha256').update(k).digest('hex');
    const s: TimedScenario = {
      wasm: wasmPath('auth'),
      configuration: JSON.stringify({
        apiKeys: { keys: [{ sha256: sha256('key-a'), consumer: 'team-a' }], from: [{ header: 'x-api-key' }] },
      }),
      timeMs: T0,
      metrics: [],
      requests: [
        { requestHeaders: [...get, ['x-api-key', 'key-a'], ['x-consumer', 'spoofed']], responseHeaders: ok },
        { requestHeaders: [...get, ['x-api-key', 'key-b']], responseHeaders: ok },
        { requestHeaders: get, responseHeaders: ok },
      ],
    };
    const [good, bad, missing] = await bothHosts(s);
    assert.equal(good!.status, 200);
    assert.deepEqual(
      good!.upstreamHeaders?.filter(([k]) => k === 'x-consumer' || k === 'x-api-key'),
      [['x-consumer', 'team-a']],
    );
    assert.equal(bad!.status, 401);
    assert.equal(JSON.parse(bad!.body!).error, 'invalid_api_key');
    assert.equal(header(bad!, 'www-authenticate'), 'ApiKey realm="legate"');
    assert.equal(missing!.status, 401);
    assert.equal(JSON.parse(missing!.body!).error, 'missing_credentials');
  });
});

describe('cross-check: built-in rate-limit filter on our host and on proxytest', () => {
  const RATELIMIT_NUMBERS = ['ratelimit-remaining', 'ratelimit-reset'];
  before(async () => {
    await builtinWasm('ratelimit');
  });

  test('burst, 429 with Retry-After and RateLimit-*, refill under the test clock, per-descriptor isolation', async () => {
    const tenant = (name: string, advanceMs = 0) => ({
      advanceMs,
      requestHeaders: [...get, ['x-tenant', name]] as HeaderPairs,
      responseHeaders: ok,
    });
    const s: TimedScenario = {
      wasm: wasmPath('ratelimit'),
      configuration: JSON.stringify({
        rules: [{ name: 'per-tenant', descriptors: ['header:x-tenant'], requests: 3, unit: 'minute' }],
      }),
      timeMs: T0,
      metrics: [],
      requests: [
        tenant('acme'),
        tenant('acme'),
        tenant('acme'),
        tenant('acme'), // the burst is spent
        tenant('globex'), // another descriptor, another bucket
        tenant('acme', 20_000), // one token back every 20 s
        tenant('acme'),
      ],
    };
    // The filter writes RateLimit-Remaining and -Reset of allowed responses through one buffer.
    const seenBy = await bothHosts(s, RATELIMIT_NUMBERS);
    assert.deepEqual(
      seenBy.map((v) => v.status),
      [200, 200, 200, 429, 200, 200, 429],
    );
    assert.deepEqual(
      seenBy.slice(0, 3).map((v) => header(v, 'ratelimit-remaining')),
      ['2', '1', '0'],
    );
    const denied = seenBy[3]!;
    assert.equal(header(denied, 'retry-after'), '20');
    assert.equal(header(denied, 'ratelimit-limit'), '3');
    assert.equal(header(denied, 'ratelimit-remaining'), '0');
    assert.equal(JSON.parse(denied.body!).rule, 'per-tenant');
  });

  test('client IP from X-Forwarded-For: a client cannot change its bucket by prepending', async () => {
    const via = (xff: string) => ({
      requestHeaders: [...get, ['x-forwarded-for', xff]] as HeaderPairs,
      responseHeaders: ok,
    });
    const s: TimedScenario = {
      wasm: wasmPath('ratelimit'),
      configuration: JSON.stringify({
        xffTrustedHops: 1,
        rules: [{ name: 'per-ip', descriptors: ['client_ip'], requests: 1, unit: 'hour' }],
      }),
      timeMs: T0,
      metrics: [],
      requests: [via('203.0.113.9, 198.51.100.1'), via('6.6.6.6, 198.51.100.1'), via('198.51.100.2')],
    };
    assert.deepEqual(
      (await bothHosts(s, RATELIMIT_NUMBERS)).map((v) => v.status),
      [200, 429, 200],
    );
  });
});
