// The configuration JSON Schemas (what the operator uses to refuse a bad FilterPolicy before anything
// reaches Envoy) must agree with the filters' own onConfigure checks: every example below is judged
// by both, with Ajv (the operator's validator) in strict mode and by the real parsers in wasm.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import AjvModule from 'ajv';
import { TestModule } from './test-module.ts';

// ajv is CommonJS: Node's default export is module.exports, and ajv sets module.exports.default to the class.
const Ajv = AjvModule.default;
type Configure = { configure(): number };
const schema = (name: string) =>
  JSON.parse(readFileSync(join(import.meta.dirname, name, 'config.schema.json'), 'utf8'));

let auth: TestModule<Configure>;
let ratelimit: TestModule<Configure>;
before(async () => {
  auth = await TestModule.load<Configure>('auth-test');
  ratelimit = await TestModule.load<Configure>('ratelimit-test');
});

function filterAccepts(m: TestModule<Configure>, config: unknown): boolean {
  m.setInputs(JSON.stringify(config));
  return m.fns.configure() === 1;
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
const oct = { kty: 'oct', k: Buffer.alloc(32, 7).toString('base64url') };
const hash = createHash('sha256').update('key').digest('hex');

const authCases: [string, unknown, boolean][] = [
  ['inline JWKS', { jwt: { jwks: { keys: [rsa, ec, oct] } } }, true],
  ['JWKS as text', { jwt: { jwks: JSON.stringify({ keys: [rsa] }) } }, true],
  [
    'everything',
    {
      jwt: {
        issuer: 'https://idp',
        audiences: ['a'],
        jwks: { keys: [{ ...rsa, kid: 'k', alg: 'RS256' }] },
        algorithms: ['RS256'],
        clockSkewSeconds: 30,
        requireExpiration: true,
        from: [{ header: 'authorization', prefix: 'Bearer ' }, { query: 't' }, { cookie: 'c' }],
        forwardClaims: { sub: 'x-user' },
        forwardToken: true,
        requiredClaims: { scope: 'read', role: ['a', 'b'] },
        cacheSize: 10,
      },
      apiKeys: { keys: [{ sha256: hash, consumer: 'c' }], from: [{ header: 'x-key' }], consumerHeader: 'x-c' },
      realm: 'r',
      allowAnonymous: false,
    },
    true,
  ],
  ['JWKS URL', { jwt: { jwksUri: { cluster: 'idp', authority: 'idp.example', path: '/jwks' } } }, true],
  ['JWKS URL without cluster', { jwt: { jwksUri: { authority: 'idp.example', path: '/jwks' } } }, false],
  ['JWKS URL with a relative path', { jwt: { jwksUri: { cluster: 'c', authority: 'a', path: 'jwks' } } }, false],
  ['api keys only', { apiKeys: { keys: [{ sha256: hash, consumer: 'c' }] } }, true],
  ['nothing configured', {}, false],
  ['unknown top-level field', { jwt: { jwks: { keys: [rsa] } }, jwks: {} }, false],
  ['typo in jwt', { jwt: { jwks: { keys: [rsa] }, isuer: 'x' } }, false],
  ['no jwks', { jwt: { issuer: 'x' } }, false],
  ['empty key set', { jwt: { jwks: { keys: [] } } }, false],
  ['alg none', { jwt: { jwks: { keys: [rsa] }, algorithms: ['none'] } }, false],
  ['RSA key without e', { jwt: { jwks: { keys: [{ kty: 'RSA', n: rsa.n }] } } }, false],
  ['unknown kty', { jwt: { jwks: { keys: [{ kty: 'OKP', x: 'abc' }] } } }, false],
  ['other curve', { jwt: { jwks: { keys: [{ ...ec, crv: 'P-384' }] } } }, false],
  ['negative skew', { jwt: { jwks: { keys: [rsa] }, clockSkewSeconds: -1 } }, false],
  ['source with two places', { jwt: { jwks: { keys: [rsa] }, from: [{ header: 'a', cookie: 'b' }] } }, false],
  ['forward into authorization', { jwt: { jwks: { keys: [rsa] }, forwardClaims: { sub: 'authorization' } } }, false],
  ['plain key instead of hash', { apiKeys: { keys: [{ sha256: 'my-secret-key', consumer: 'c' }] } }, false],
  ['no consumer', { apiKeys: { keys: [{ sha256: hash }] } }, false],
  ['no keys', { apiKeys: { keys: [] } }, false],
];

const rateLimitCases: [string, unknown, boolean][] = [
  ['one global rule', { rules: [{ name: 'all', requests: 100 }] }, true],
  [
    'everything',
    {
      domain: 'team-a',
      replicas: 3,
      xffTrustedHops: 1,
      maxKeys: 1000,
      responseHeaders: false,
      rules: [
        { name: 'per-ip', descriptors: ['client_ip'], requests: 10, unit: 'second', burst: 20 },
        { name: 'per-user', descriptors: ['header:x-user', 'path', 'method', 'route'], requests: 1000, unit: 'hour' },
      ],
    },
    true,
  ],
  ['no rules', { rules: [] }, false],
  ['missing rules', { replicas: 2 }, false],
  ['zero requests', { rules: [{ name: 'a', requests: 0 }] }, false],
  ['fractional requests', { rules: [{ name: 'a', requests: 1.5 }] }, false],
  ['unknown unit', { rules: [{ name: 'a', requests: 1, unit: 'day' }] }, false],
  ['unknown descriptor', { rules: [{ name: 'a', requests: 1, descriptors: ['ip'] }] }, false],
  ['zero replicas', { replicas: 0, rules: [{ name: 'a', requests: 1 }] }, false],
  ['rule without name', { rules: [{ requests: 1 }] }, false],
  ['typo', { rules: [{ name: 'a', requests: 1, burts: 2 }] }, false],
  ['slash in a rule name', { rules: [{ name: 'a/b', requests: 1 }] }, false],
  ['slash in the domain', { domain: 'x/y', rules: [{ name: 'a', requests: 1 }] }, false],
];

describe('configuration schemas agree with the filters', () => {
  const ajv = new Ajv({ strict: true, allErrors: true, strictRequired: false });
  // Legate's own annotation: the operator fills the field per Gateway (docs/filters/distribution.md).
  ajv.addKeyword('x-legate-fill');
  const validators = { auth: ajv.compile(schema('auth')), ratelimit: ajv.compile(schema('ratelimit')) };

  for (const [name, config, valid] of authCases) {
    test(`auth: ${name}`, () => {
      assert.equal(validators.auth(config), valid, `schema: ${JSON.stringify(validators.auth.errors)}`);
      assert.equal(filterAccepts(auth, config), valid, `filter: ${auth.output().toString()}`);
    });
  }
  for (const [name, config, valid] of rateLimitCases) {
    test(`ratelimit: ${name}`, () => {
      assert.equal(validators.ratelimit(config), valid, `schema: ${JSON.stringify(validators.ratelimit.errors)}`);
      assert.equal(filterAccepts(ratelimit, config), valid, `filter: ${ratelimit.output().toString()}`);
    });
  }
});
