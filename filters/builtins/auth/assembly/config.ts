// The auth filter's configuration (see ../config.schema.json and docs/filters/builtins.md), read
// with the SDK's ConfigReader so every problem is reported with its field path.

import { ConfigReader } from '../../../sdk/assembly/config';
import { parseJson } from '../../../sdk/assembly/json';
import { asciiLower } from '../../shared/assembly/ascii';
import { ClaimHeader, RequiredClaim } from './claims';
import { CredentialSource, FROM_COOKIE, FROM_HEADER, FROM_QUERY } from './credentials';
import { ALGORITHMS, Jwk, parseJwks } from './jwk';
import { JwtRules } from './jwt';

/** A JWKS served over HTTP by an Envoy cluster, fetched with httpCall and refreshed on a timer. */
export class JwksRemote {
  cluster: string = '';
  authority: string = '';
  path: string = '';
  refreshSeconds: i64 = 600;
  timeoutMs: i64 = 5000;
}

export class JwtConfig {
  rules: JwtRules = new JwtRules();
  /** The keys in use: the inline ones plus the last good fetch from `remote`. */
  keys: Jwk[] = [];
  inlineKeys: Jwk[] = [];
  remote: JwksRemote | null = null;
  sources: CredentialSource[] = [];
  forwardClaims: ClaimHeader[] = [];
  /** Keep the token in the request to the upstream (Envoy's jwt_authn `forward`); stripped by default. */
  forwardToken: bool = false;
  requiredClaims: RequiredClaim[] = [];
  cacheSize: i32 = 1024;
}

export class ApiKeyConfig {
  sources: CredentialSource[] = [];
  /** Lower-case hex SHA-256 of a key → consumer name. */
  consumers: Map<string, string> = new Map<string, string>();
  consumerHeader: string = 'x-consumer';
  forwardKey: bool = false;
}

export class AuthConfig {
  jwt: JwtConfig | null = null;
  apiKeys: ApiKeyConfig | null = null;
  realm: string = 'legate';
  /** Let requests without any credential through (a present but invalid one is still refused). */
  allowAnonymous: bool = false;
  /** Non-fatal findings, logged as warnings. */
  warnings: string[] = [];
}

export class AuthConfigResult {
  constructor(
    public config: AuthConfig | null,
    public error: string,
  ) {}
}

function sources(r: ConfigReader, key: string, fallback: CredentialSource[]): CredentialSource[] {
  if (!r.has(key)) return fallback;
  const out: CredentialSource[] = [];
  const items = r.objectArray(key);
  if (items.length == 0) r.fail(key, 'must list at least one source');
  for (let i = 0; i < items.length; i++) {
    const s = items[i];
    s.allowOnly(['header', 'prefix', 'query', 'cookie']);
    const n = (s.has('header') ? 1 : 0) + (s.has('query') ? 1 : 0) + (s.has('cookie') ? 1 : 0);
    if (n != 1) {
      s.fail('header', 'each source names exactly one of header, query or cookie');
      continue;
    }
    if (s.has('header')) {
      const name = asciiLower(s.requiredString('header'));
      if (name.length == 0) s.fail('header', 'must not be empty');
      out.push(new CredentialSource(FROM_HEADER, name, s.string('prefix', '')));
    } else if (s.has('query')) {
      out.push(new CredentialSource(FROM_QUERY, s.requiredString('query')));
    } else {
      out.push(new CredentialSource(FROM_COOKIE, s.requiredString('cookie')));
    }
  }
  return out;
}

function headerName(r: ConfigReader, key: string, value: string): string {
  const v = asciiLower(value);
  if (v.length == 0 || v.startsWith(':') || v == 'host' || v == 'authorization' || v == 'cookie') {
    r.fail(key, 'cannot forward into header "' + value + '"');
  }
  return v;
}

function readJwt(r: ConfigReader, warnings: string[]): JwtConfig {
  r.allowOnly([
    'issuer',
    'audiences',
    'jwks',
    'jwksUri',
    'algorithms',
    'clockSkewSeconds',
    'requireExpiration',
    'from',
    'forwardClaims',
    'forwardToken',
    'requiredClaims',
    'cacheSize',
  ]);
  const c = new JwtConfig();
  c.rules.issuer = r.string('issuer', '');
  c.rules.audiences = r.stringArray('audiences');
  c.rules.clockSkewSeconds = r.int('clockSkewSeconds', 60, 0, 600);
  c.rules.requireExpiration = r.bool('requireExpiration', false);
  const algs = r.stringArray('algorithms');
  for (let i = 0; i < algs.length; i++) {
    if (!ALGORITHMS.includes(algs[i])) r.fail('algorithms', 'unsupported algorithm "' + algs[i] + '"');
  }
  c.rules.algorithms = algs;
  // The JWKS is inline: a JWK Set object, or the same as JSON text (as an identity provider serves it).
  let jwks = r.raw('jwks');
  if (r.has('jwksUri')) {
    const u = r.object('jwksUri');
    u.allowOnly(['cluster', 'authority', 'path', 'refreshSeconds', 'timeoutMs']);
    const remote = new JwksRemote();
    remote.cluster = u.requiredString('cluster');
    remote.authority = u.requiredString('authority');
    remote.path = u.requiredString('path');
    if (!remote.path.startsWith('/')) u.fail('path', 'must start with "/"');
    remote.refreshSeconds = u.int('refreshSeconds', 600, 10, 86400);
    remote.timeoutMs = u.int('timeoutMs', 5000, 100, 60000);
    c.remote = remote;
  }
  if (jwks == null) {
    if (c.remote == null) r.fail('jwks', 'required (a JWK Set with the verification keys), unless jwksUri is set');
  } else {
    if (jwks.isString()) {
      const parsed = parseJson(jwks.asString().value);
      if (!parsed.ok) r.fail('jwks', 'invalid JSON: ' + parsed.error);
      jwks = parsed.value;
    }
    if (jwks != null) {
      const set = parseJwks(jwks, 'jwks');
      for (let i = 0; i < set.errors.length; i++) r.fail('jwks', set.errors[i]);
      for (let i = 0; i < set.warnings.length; i++) warnings.push(set.warnings[i]);
      if (set.errors.length == 0 && set.keys.length == 0) r.fail('jwks', 'contains no signing keys');
      c.inlineKeys = set.keys;
      c.keys = set.keys;
    }
  }
  c.sources = sources(r, 'from', [new CredentialSource(FROM_HEADER, 'authorization', 'Bearer ')]);
  const fwd = r.stringMap('forwardClaims');
  const claims = fwd.keys();
  for (let i = 0; i < claims.length; i++) {
    c.forwardClaims.push(new ClaimHeader(claims[i], headerName(r, 'forwardClaims', fwd.get(claims[i]))));
  }
  c.forwardToken = r.bool('forwardToken', false);
  const req = r.object('requiredClaims');
  const names = req.keys();
  for (let i = 0; i < names.length; i++) {
    const raw = req.raw(names[i])!;
    if (raw.isString()) c.requiredClaims.push(new RequiredClaim(names[i], [raw.asString().value]));
    else c.requiredClaims.push(new RequiredClaim(names[i], req.stringArray(names[i], true)));
  }
  c.cacheSize = <i32>r.int('cacheSize', 1024, 0, 100000);
  return c;
}

function readApiKeys(r: ConfigReader): ApiKeyConfig {
  r.allowOnly(['from', 'keys', 'consumerHeader', 'forwardKey']);
  const c = new ApiKeyConfig();
  c.sources = sources(r, 'from', [new CredentialSource(FROM_HEADER, 'x-api-key')]);
  c.consumerHeader = headerName(r, 'consumerHeader', r.string('consumerHeader', 'x-consumer'));
  c.forwardKey = r.bool('forwardKey', false);
  const keys = r.objectArray('keys', true);
  if (keys.length == 0) r.fail('keys', 'must list at least one key');
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    k.allowOnly(['sha256', 'consumer']);
    const hash = asciiLower(k.requiredString('sha256'));
    const consumer = k.requiredString('consumer');
    if (!isHex64(hash)) k.fail('sha256', 'must be the 64-hex-digit SHA-256 of the key, not the key itself');
    else if (c.consumers.has(hash)) k.fail('sha256', 'duplicate key');
    if (consumer.length == 0) k.fail('consumer', 'must not be empty');
    c.consumers.set(hash, consumer);
  }
  return c;
}

function isHex64(s: string): bool {
  if (s.length != 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

export function parseAuthConfig(text: string): AuthConfigResult {
  const r = ConfigReader.fromText(text);
  r.allowOnly(['jwt', 'apiKeys', 'realm', 'allowAnonymous']);
  const c = new AuthConfig();
  if (r.has('jwt')) c.jwt = readJwt(r.object('jwt'), c.warnings);
  if (r.has('apiKeys')) c.apiKeys = readApiKeys(r.object('apiKeys'));
  if (r.ok && c.jwt == null && c.apiKeys == null) r.fail('jwt', 'configure jwt, apiKeys or both');
  c.realm = r.string('realm', 'legate');
  c.allowAnonymous = r.bool('allowAnonymous', false);
  if (!r.ok) return new AuthConfigResult(null, r.errorText());
  return new AuthConfigResult(c, '');
}
