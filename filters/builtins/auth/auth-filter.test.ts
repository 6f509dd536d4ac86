// The built auth module on the project's proxy-wasm host (filters/host): what a client and the
// upstream see — 401/403 answers with WWW-Authenticate and JSON bodies, forwarded claim and consumer
// headers, stripped credentials, the verified-token cache, and configuration refused in onConfigure.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { FilterHost, type HttpStream } from '../../host/index.ts';
import { builtinWasm } from '../build.ts';
import { Signer } from './jwt-tokens.ts';

let wasm: Uint8Array;
let signer: Signer;
before(async () => {
  wasm = await builtinWasm('auth');
  signer = new Signer();
});

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

async function host(configuration: object): Promise<FilterHost> {
  const h = await FilterHost.load(wasm, { configuration });
  assert.ok(h.configured, h.logMessages().join('\n'));
  return h;
}

function request(h: FilterHost, headers: Record<string, string>, path = '/orders'): HttpStream {
  const s = h.newStream();
  s.sendRequestHeaders({ ':method': 'GET', ':path': path, ':authority': 'api.example', ...headers });
  return s;
}

const nowSeconds = (h: FilterHost) => Math.floor(h.clock.nowMilliseconds() / 1000);

describe('auth filter: JWT', () => {
  const config = () => ({
    jwt: {
      issuer: 'https://idp.example',
      audiences: ['orders'],
      jwks: signer.jwks(),
      forwardClaims: { sub: 'x-user', groups: 'x-groups' },
    },
  });

  test('a valid bearer token passes; claims are forwarded and the token stripped', async () => {
    const h = await host(config());
    const token = signer.token('RS256', {
      iss: 'https://idp.example',
      aud: 'orders',
      sub: 'alice',
      groups: ['a', 'b'],
      exp: nowSeconds(h) + 60,
    });
    const s = request(h, { authorization: `Bearer ${token}`, 'x-user': 'spoofed' });
    assert.equal(s.localResponse, null);
    assert.equal(s.requestPaused, false);
    assert.equal(s.request.headers.get('x-user'), 'alice');
    assert.deepEqual(s.request.headers.getAll('x-user'), ['alice'], 'the client-sent value is gone');
    assert.equal(s.request.headers.get('x-groups'), '["a","b"]');
    assert.equal(s.request.headers.get('authorization'), undefined);
  });

  test('missing, expired and wrong-audience tokens get 401 with a Bearer challenge', async () => {
    const h = await host(config());
    const missing = request(h, {});
    assert.equal(missing.localResponse?.status, 401);
    assert.deepEqual(JSON.parse(missing.localResponse!.body), {
      error: 'missing_credentials',
      message: 'no credentials in the request',
    });
    assert.deepEqual(
      missing.localResponse!.headers.filter(([k]) => k === 'www-authenticate'),
      [['www-authenticate', 'Bearer realm="legate"']],
    );
    const expired = signer.token('ES256', { iss: 'https://idp.example', aud: 'orders', exp: nowSeconds(h) - 120 });
    const e = request(h, { authorization: `Bearer ${expired}` });
    assert.equal(e.localResponse?.status, 401);
    assert.equal(JSON.parse(e.localResponse!.body).message, 'token has expired');
    assert.ok(
      e.localResponse!.headers.some(
        ([k, v]) => k === 'www-authenticate' && v.includes('error="invalid_token"') && !v.includes(expired),
      ),
    );
    const aud = signer.token('HS256', { iss: 'https://idp.example', aud: 'billing' });
    assert.equal(request(h, { authorization: `bearer ${aud}` }).localResponse?.status, 401);
  });

  test('a missing required claim is 403 with insufficient_scope', async () => {
    const h = await host({ jwt: { ...config().jwt, requiredClaims: { scope: 'orders:write' } } });
    const token = signer.token('HS512', { iss: 'https://idp.example', aud: 'orders', scope: 'orders:read' });
    const s = request(h, { authorization: `Bearer ${token}` });
    assert.equal(s.localResponse?.status, 403);
    assert.deepEqual(JSON.parse(s.localResponse!.body), {
      error: 'insufficient_claims',
      message: 'token lacks required claim scope',
    });
    assert.ok(s.localResponse!.headers.some(([k, v]) => k === 'www-authenticate' && v.includes('insufficient_scope')));
  });

  test('tokens from a query parameter or a cookie, stripped before the upstream', async () => {
    const h = await host({
      jwt: { ...config().jwt, from: [{ query: 'access_token' }, { cookie: 'session' }] },
    });
    const token = signer.token('RS384', { iss: 'https://idp.example', aud: 'orders', sub: 'bob' });
    const q = request(h, {}, `/orders?page=2&access_token=${token}&sort=asc`);
    assert.equal(q.localResponse, null);
    assert.equal(q.request.headers.get(':path'), '/orders?page=2&sort=asc');
    const c = request(h, { cookie: `theme=dark; session=${token}` });
    assert.equal(c.localResponse, null);
    assert.equal(c.request.headers.get('cookie'), 'theme=dark');
    assert.equal(c.request.headers.get('x-user'), 'bob');
    assert.equal(request(h, { authorization: `Bearer ${token}` }).localResponse?.status, 401, 'header not a source');
  });

  test('a cached token is still refused once it expires', async () => {
    const h = await host(config());
    const token = signer.token('RS256', { iss: 'https://idp.example', aud: 'orders', exp: nowSeconds(h) + 10 });
    assert.equal(request(h, { authorization: `Bearer ${token}` }).localResponse, null);
    assert.equal(request(h, { authorization: `Bearer ${token}` }).localResponse, null, 'from the cache');
    h.clock.advanceBy(71_000); // past exp + the 60 s skew
    assert.equal(request(h, { authorization: `Bearer ${token}` }).localResponse?.status, 401);
  });

  test('a small cache cycling many tokens forwards each token its own claims', async () => {
    const h = await host({ jwt: { ...config().jwt, cacheSize: 4 } });
    const tokens = Array.from({ length: 40 }, (_, i) =>
      signer.token('HS256', { iss: 'https://idp.example', aud: 'orders', sub: `user-${i}`, exp: nowSeconds(h) + 60 }),
    );
    // Evictions and re-insertions in every order the ring and its index go through.
    for (const order of [
      [...tokens.keys()],
      [...tokens.keys()].reverse(),
      [...tokens.keys()].map((i) => (i * 7) % 40),
    ]) {
      for (const i of [...order, ...order]) {
        const s = request(h, { authorization: `Bearer ${tokens[i]}` });
        assert.equal(s.localResponse, null);
        assert.equal(s.request.headers.get('x-user'), `user-${i}`);
      }
    }
    const prefix = tokens[3]!.slice(0, -1);
    assert.equal(request(h, { authorization: `Bearer ${prefix}` }).localResponse?.status, 401, 'a prefix is no hit');
  });

  test('module memory stays flat over many requests (the garbage collector keeps up)', async () => {
    const h = await host({ jwt: { ...config().jwt, cacheSize: 64 } });
    const tokens = Array.from({ length: 200 }, (_, i) =>
      signer.token('HS256', { iss: 'https://idp.example', aud: 'orders', sub: `u${i}`, groups: ['a'], exp: 2e9 }),
    );
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        const s = request(h, { authorization: `Bearer ${tokens[i % 200]}`, 'x-pad': 'p'.repeat(300) });
        assert.equal(s.localResponse, null);
        s.sendResponseHeaders({ ':status': '200' });
        s.complete();
      }
    };
    run(3000);
    const warm = h.workers[0]!.memoryBytes;
    run(10000);
    assert.equal(h.workers[0]!.memoryBytes, warm);
  });

  test('keys from a JWKS URL: fetched with httpCall, 503 until loaded, refreshed on a timer', async () => {
    const h = await host({
      jwt: { jwksUri: { cluster: 'idp', authority: 'idp.example', path: '/jwks.json', refreshSeconds: 60 } },
    });
    const [call] = h.pendingHttpCalls;
    assert.ok(call);
    assert.equal(call.upstream, 'idp');
    assert.equal(call.headers.get(':path'), '/jwks.json');
    assert.equal(call.headers.get(':authority'), 'idp.example');
    const token = signer.token('RS256', { sub: 'dave' });
    assert.equal(request(h, { authorization: `Bearer ${token}` }).localResponse?.status, 503);
    call.respond({ status: 200, body: JSON.stringify({ keys: [signer.rsa.jwk] }) });
    assert.equal(request(h, { authorization: `Bearer ${token}` }).localResponse, null);
    // A failed refresh keeps the keys.
    h.advance(60_000);
    h.pendingHttpCalls[0]!.respond({ status: 500 });
    assert.equal(request(h, { authorization: `Bearer ${token}` }).localResponse, null);
    // Rotation: the next refresh serves a new key only; the old key (and its cached tokens) stop working.
    const rotated = new Signer();
    h.advance(60_000);
    h.pendingHttpCalls[0]!.respond({ status: 200, body: JSON.stringify({ keys: [rotated.ec.jwk] }) });
    assert.equal(request(h, { authorization: `Bearer ${token}` }).localResponse?.status, 401);
    assert.equal(
      request(h, { authorization: `Bearer ${rotated.token('ES256', { sub: 'dave' })}` }).localResponse,
      null,
    );
  });

  test('a bad configuration is refused in onConfigure with a logged reason', async () => {
    const h = await FilterHost.load(wasm, { configuration: { jwt: { jwks: { keys: [{ kty: 'RSA', n: 'AQAB' }] } } } });
    assert.equal(h.configured, false);
    assert.ok(h.logMessages('error').some((m) => m.includes('config.jwt.jwks') && m.includes('missing "e"')));
    const notJson = await FilterHost.load(wasm, { configuration: '{"jwt":' });
    assert.equal(notJson.configured, false);
    assert.ok(notJson.logMessages('error').some((m) => m.includes('invalid JSON')));
  });
});

describe('auth filter: API keys', () => {
  const config = {
    apiKeys: {
      keys: [
        { sha256: sha256('key-for-team-a'), consumer: 'team-a' },
        { sha256: sha256('key-for-team-b'), consumer: 'team-b' },
      ],
      from: [{ header: 'x-api-key' }, { query: 'api_key' }],
    },
  };

  test('a known key passes as its consumer; the key is stripped', async () => {
    const h = await host(config);
    const s = request(h, { 'x-api-key': 'key-for-team-b', 'x-consumer': 'team-a' });
    assert.equal(s.localResponse, null);
    assert.deepEqual(s.request.headers.getAll('x-consumer'), ['team-b']);
    assert.equal(s.request.headers.get('x-api-key'), undefined);
    const q = request(h, {}, '/x?api_key=key-for-team-a');
    assert.equal(q.request.headers.get('x-consumer'), 'team-a');
    assert.equal(q.request.headers.get(':path'), '/x');
  });

  test('an unknown key is 401 with an ApiKey challenge and no key material in the answer', async () => {
    const h = await host(config);
    const s = request(h, { 'x-api-key': 'key-for-team-c' });
    assert.equal(s.localResponse?.status, 401);
    assert.deepEqual(JSON.parse(s.localResponse!.body), { error: 'invalid_api_key', message: 'API key is not valid' });
    assert.ok(!JSON.stringify(s.localResponse).includes('key-for-team-c'));
    assert.deepEqual(
      s.localResponse!.headers.filter(([k]) => k === 'www-authenticate'),
      [['www-authenticate', 'ApiKey realm="legate"']],
    );
    assert.equal(request(h, { 'x-api-key': sha256('key-for-team-a') }).localResponse?.status, 401, 'hash is not a key');
  });

  test('JWT and API keys together: either credential is enough, an invalid one is refused', async () => {
    const h = await host({ ...config, jwt: { jwks: signer.jwks() }, realm: 'orders' });
    assert.equal(request(h, { 'x-api-key': 'key-for-team-a' }).localResponse, null);
    assert.equal(request(h, { authorization: `Bearer ${signer.token('ES256', { sub: 'x' })}` }).localResponse, null);
    const none = request(h, {});
    assert.deepEqual(
      none.localResponse!.headers.filter(([k]) => k === 'www-authenticate').map(([, v]) => v),
      ['Bearer realm="orders"', 'ApiKey realm="orders"'],
    );
    assert.equal(request(h, { 'x-api-key': 'nope' }).localResponse?.status, 401);
  });

  test('client-sent identity headers never reach the upstream, on any passing path', async () => {
    const h = await host({
      ...config,
      jwt: { jwks: signer.jwks(), forwardClaims: { sub: 'x-user', email: 'x-email' } },
      allowAnonymous: true,
    });
    const spoof = { 'x-user': 'admin', 'x-email': 'admin@example', 'x-consumer': 'team-a' };
    const anonymous = request(h, spoof);
    assert.equal(anonymous.localResponse, null);
    for (const name of Object.keys(spoof)) assert.equal(anonymous.request.headers.get(name), undefined, name);
    const byKey = request(h, { ...spoof, 'x-api-key': 'key-for-team-b' });
    assert.equal(byKey.request.headers.get('x-user'), undefined);
    assert.equal(byKey.request.headers.get('x-email'), undefined);
    assert.equal(byKey.request.headers.get('x-consumer'), 'team-b');
    const byToken = request(h, { ...spoof, authorization: `Bearer ${signer.token('RS256', { sub: 'carol' })}` });
    assert.deepEqual(byToken.request.headers.getAll('x-user'), ['carol']);
    assert.equal(byToken.request.headers.get('x-email'), undefined, 'claim absent from the token');
    assert.equal(byToken.request.headers.get('x-consumer'), undefined);
  });
});
