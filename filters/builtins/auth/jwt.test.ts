// JWT verdicts of the auth filter's core (auth/assembly/jwt.ts, config.ts) on the host-free test
// module, for every algorithm: valid, expired, not yet valid, wrong issuer/audience, tampered, and
// the classic attacks (alg none, HS/RS confusion, unknown kid, malformed input).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { TestModule } from '../test-module.ts';
import { ALGS, hs256With, Signer, unsigned } from './jwt-tokens.ts';

type Fns = { configure(): number; checkToken(now: bigint): number; checkApiKey(): number };
let m: TestModule<Fns>;
let signer: Signer;
const NOW = 1_800_000_000;

before(async () => {
  m = await TestModule.load<Fns>('auth-test');
  signer = new Signer();
});

function configure(jwt: object): void {
  m.setInputs(JSON.stringify({ jwt }));
  assert.equal(m.fns.configure(), 1, m.output().toString());
}

function check(token: string, now = NOW): { status: number; text: string } {
  m.setInputs(token);
  const status = m.fns.checkToken(BigInt(now));
  return { status, text: m.output().toString() };
}

const base = () => ({ issuer: 'https://idp.example', audiences: ['orders'], jwks: signer.jwks() });
const claims = (extra: object = {}) => ({
  iss: 'https://idp.example',
  aud: 'orders',
  sub: 'alice',
  exp: NOW + 300,
  nbf: NOW - 10,
  ...extra,
});

describe('JWT verification', () => {
  for (const alg of ALGS) {
    test(`${alg}: valid, expired, not yet valid, wrong iss/aud, tampered`, () => {
      configure(base());
      const ok = check(signer.token(alg, claims()));
      assert.equal(ok.status, 200, ok.text);
      assert.equal(JSON.parse(ok.text).sub, 'alice');
      assert.deepEqual(check(signer.token(alg, claims({ exp: NOW - 61 }))), { status: 401, text: 'token has expired' });
      assert.equal(check(signer.token(alg, claims({ exp: NOW - 30 }))).status, 200, 'within the 60 s skew');
      assert.deepEqual(check(signer.token(alg, claims({ nbf: NOW + 61 }))), {
        status: 401,
        text: 'token is not yet valid',
      });
      assert.equal(check(signer.token(alg, claims({ nbf: NOW + 30 }))).status, 200, 'nbf within skew');
      assert.deepEqual(check(signer.token(alg, claims({ iss: 'https://evil.example' }))), {
        status: 401,
        text: 'issuer is not accepted',
      });
      assert.deepEqual(check(signer.token(alg, claims({ aud: 'billing' }))), {
        status: 401,
        text: 'audience is not accepted',
      });
      assert.equal(check(signer.token(alg, claims({ aud: ['billing', 'orders'] }))).status, 200, 'aud array');
      const token = signer.token(alg, claims());
      const [h, p, s] = token.split('.') as [string, string, string];
      const forged = Buffer.from(JSON.stringify(claims({ sub: 'mallory' }))).toString('base64url');
      assert.deepEqual(check(`${h}.${forged}.${s}`), { status: 401, text: 'signature verification failed' });
      const sig = Buffer.from(s, 'base64url');
      sig[sig.length >> 1]! ^= 1;
      assert.equal(check(`${h}.${p}.${sig.toString('base64url')}`).status, 401, 'flipped signature bit');
      assert.equal(check(`${h}.${p}.${s.slice(0, -4)}`).status, 401, 'truncated signature');
    });
  }

  test('alg "none" and unsupported algorithms never verify', () => {
    configure(base());
    assert.deepEqual(check(unsigned(claims())), { status: 401, text: 'algorithm "none" is not supported' });
    assert.equal(check(unsigned(claims(), 'None')).status, 401);
    const hs = signer.token('HS256', claims());
    assert.equal(check(`${unsigned(claims()).slice(0, -1)}.${hs.split('.')[2]}`).status, 401, 'none with a signature');
    assert.equal(check(signer.token('HS256', claims(), { alg: 'PS256' })).status, 401);
  });

  test('HS/RS confusion: an HS256 token keyed with the RSA public key is refused', () => {
    configure(base());
    const jwk = signer.rsa.jwk;
    for (const secret of [
      Buffer.from(JSON.stringify(jwk)),
      Buffer.from(jwk.n!, 'base64url'),
      Buffer.from(signer.rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()),
    ]) {
      const forged = hs256With(secret, { alg: 'HS256', kid: 'rsa-1' }, claims());
      assert.equal(check(forged).status, 401);
    }
    // With only RSA keys configured, no HS token has a key to verify against at all.
    configure({ ...base(), jwks: { keys: [signer.rsa.jwk] } });
    const forged = hs256With(Buffer.from(signer.rsa.jwk.n!, 'base64url'), { alg: 'HS256' }, claims());
    assert.deepEqual(check(forged), { status: 401, text: 'no key matches the token (kid/alg)' });
  });

  test('the algorithm allow-list and a JWK "alg" narrow what verifies', () => {
    configure({ ...base(), algorithms: ['RS256'] });
    assert.equal(check(signer.token('RS256', claims())).status, 200);
    assert.deepEqual(check(signer.token('ES256', claims())), { status: 401, text: 'algorithm ES256 is not allowed' });
    assert.equal(check(signer.token('HS256', claims())).status, 401);
    configure({ ...base(), jwks: { keys: [{ ...signer.rsa.jwk, alg: 'RS256' }] } });
    assert.equal(check(signer.token('RS256', claims())).status, 200);
    assert.equal(check(signer.token('RS512', claims())).status, 401, 'the key is pinned to RS256');
  });

  test('kid selects the key; an unknown kid finds none', () => {
    configure(base());
    assert.equal(check(signer.token('RS256', claims(), { kid: 'rsa-1' })).status, 200);
    assert.deepEqual(check(signer.token('RS256', claims(), { kid: 'rsa-2' })), {
      status: 401,
      text: 'no key matches the token (kid/alg)',
    });
  });

  test('malformed tokens are refused without crashing the module', () => {
    configure(base());
    const good = signer.token('ES256', claims());
    const [h, p, s] = good.split('.') as [string, string, string];
    for (const bad of [
      '',
      'abc',
      'a.b',
      `${h}.${p}`,
      `${h}.${p}.${s}.x`,
      `${h}..${s}`,
      `.${p}.${s}`,
      `${h}.${p}.`,
      `${h}=.${p}.${s}`,
      `${h}.${p}.${s}=`,
      `${Buffer.from('[1,2]').toString('base64url')}.${p}.${s}`,
      `${Buffer.from('{"alg":"ES256"').toString('base64url')}.${p}.${s}`,
      `${h}.${Buffer.from('not json').toString('base64url')}.${s}`,
      'ü.ö.ä',
    ]) {
      assert.equal(check(bad).status, 401, JSON.stringify(bad));
    }
    assert.equal(check(signer.token('HS256', claims({ exp: 'tomorrow' }))).status, 401, 'exp must be a number');
    assert.equal(check(signer.token('HS256', [1, 2, 3])).status, 401, 'payload must be an object');
    assert.equal(check(signer.token('HS256', claims(), { crit: ['exp'] })).status, 401, 'unknown crit');
  });

  test('exp is optional unless requireExpiration; a token is invalid exactly at exp + skew', () => {
    configure({ ...base(), clockSkewSeconds: 0 });
    const { exp: _exp, ...noExp } = claims();
    assert.equal(check(signer.token('HS256', noExp)).status, 200);
    const t = signer.token('HS256', claims({ exp: NOW + 5 }));
    assert.equal(check(t, NOW + 4).status, 200);
    assert.equal(check(t, NOW + 5).status, 401, 'RFC 7519: on or after exp is expired');
    configure({ ...base(), requireExpiration: true });
    assert.deepEqual(check(signer.token('HS256', noExp)), { status: 401, text: 'token has no "exp"' });
  });

  test('required claims answer 403 when missing or different', () => {
    configure({ ...base(), requiredClaims: { scope: 'orders:write', role: ['admin', 'ops'] } });
    assert.equal(check(signer.token('RS256', claims({ scope: 'orders:read orders:write', role: 'ops' }))).status, 200);
    assert.deepEqual(check(signer.token('RS256', claims({ scope: 'orders:read', role: 'ops' }))), {
      status: 403,
      text: 'scope',
    });
    assert.deepEqual(check(signer.token('RS256', claims({ scope: 'orders:write', role: ['viewer'] }))), {
      status: 403,
      text: 'role',
    });
    assert.equal(
      check(signer.token('RS256', claims({ scope: 'orders:write', role: ['viewer', 'admin'] }))).status,
      200,
    );
  });

  test('RFC 7515 appendix A.1 example (HS256)', () => {
    const k = 'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow';
    configure({ jwks: { keys: [{ kty: 'oct', k }] } });
    const token =
      'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
    const ok = check(token, 1300819380 - 100);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(JSON.parse(ok.text).iss, 'joe');
    assert.equal(check(token, 1300819380 + 60).status, 401);
  });
});

describe('auth configuration', () => {
  const refused = (config: object) => {
    m.setInputs(JSON.stringify(config));
    assert.equal(m.fns.configure(), 0, JSON.stringify(config));
    return m.output().toString();
  };

  test('bad configurations are refused with a reason naming the field', () => {
    assert.match(refused({}), /configure jwt, apiKeys or both/);
    assert.match(refused({ jwt: {} }), /config\.jwt\.jwks: required/);
    assert.match(refused({ jwt: { jwks: { keys: [] } } }), /no signing keys/);
    assert.match(refused({ jwt: { jwks: signer.jwks(), algorithms: ['none'] } }), /unsupported algorithm "none"/);
    assert.match(refused({ jwt: { jwks: signer.jwks(), issuer: 7 } }), /config\.jwt\.issuer: expected a string/);
    assert.match(refused({ jwt: { jwks: signer.jwks(), isuer: 'x' } }), /config\.jwt\.isuer: unknown field/);
    const small = { kty: 'RSA', n: Buffer.alloc(128, 0xff).toString('base64url'), e: 'AQAB' };
    assert.match(refused({ jwt: { jwks: { keys: [small] } } }), /2048 to 4096 bits/);
    const offCurve = { ...signer.ec.jwk, y: Buffer.alloc(32, 1).toString('base64url') };
    assert.match(refused({ jwt: { jwks: { keys: [offCurve] } } }), /not on the P-256 curve/);
    assert.match(refused({ jwt: { jwks: { keys: [{ ...signer.rsa.jwk, alg: 'ES256' }] } } }), /does not match/);
    assert.match(refused({ apiKeys: { keys: [{ sha256: 'secret-key', consumer: 'a' }] } }), /64-hex-digit SHA-256/);
    assert.match(refused({ apiKeys: { keys: [] } }), /at least one key/);
    assert.match(refused({ jwt: { jwks: signer.jwks(), forwardClaims: { sub: ':path' } } }), /cannot forward/);
    assert.match(refused({ jwt: { jwks: signer.jwks(), from: [{ header: 'a', query: 'b' }] } }), /exactly one/);
  });

  test('a JWKS given as JSON text is accepted', () => {
    configure({ jwks: JSON.stringify(signer.jwks()) });
    assert.equal(check(signer.token('ES256', claims())).status, 200);
  });
});
