// JWS compact-serialization JWT verification (RFC 7515, RFC 7519) against a provider's keys and
// claim rules. Pure: the caller passes the current time; no host calls, so it is tested directly.

import { constantTimeEqual, utf8 } from '../../../sdk/assembly/bytes';
import { JsonObject, JsonValue, parseJson } from '../../../sdk/assembly/json';
import { base64urlDecode } from '../../crypto/assembly/base64url';
import { ALGORITHMS, hashFor, Jwk, KEY_EC, KEY_OCT, keyTypeFor } from './jwk';

/** What a provider checks besides the signature. */
export class JwtRules {
  /** Accepted "alg" values; empty means every algorithm in ALGORITHMS. */
  algorithms: string[] = [];
  /** Required "iss" ("" = not checked). */
  issuer: string = '';
  /** The token's "aud" must contain one of these (empty = not checked). */
  audiences: string[] = [];
  /** Tolerance for exp and nbf, for clocks that disagree a little. */
  clockSkewSeconds: i64 = 60;
  /** Refuse tokens without "exp" (RFC 7519 makes it optional, and so does Envoy's jwt_authn). */
  requireExpiration: bool = false;
}

/** Verdict codes. The text is safe to show a client: it never contains key material. */
export const JWT_OK: i32 = 0;
export const JWT_MALFORMED: i32 = 1;
export const JWT_BAD_ALG: i32 = 2;
export const JWT_NO_KEY: i32 = 3;
export const JWT_BAD_SIGNATURE: i32 = 4;
export const JWT_EXPIRED: i32 = 5;
export const JWT_NOT_YET_VALID: i32 = 6;
export const JWT_BAD_ISSUER: i32 = 7;
export const JWT_BAD_AUDIENCE: i32 = 8;

export class JwtVerdict {
  constructor(
    public code: i32,
    public message: string,
    /** The verified payload (null unless code == JWT_OK). */
    public claims: JsonObject | null = null,
    /** "exp" in seconds, or i64.MAX_VALUE when the token has none. */
    public exp: i64 = i64.MAX_VALUE,
    public nbf: i64 = i64.MIN_VALUE,
  ) {}

  get ok(): bool {
    return this.code == JWT_OK;
  }
}

function fail(code: i32, message: string): JwtVerdict {
  return new JwtVerdict(code, message);
}

function decodeObject(token: string, start: i32, end: i32): JsonObject | null {
  const bytes = base64urlDecode(token, start, end);
  if (bytes == null) return null;
  const parsed = parseJson(String.UTF8.decode(bytes.buffer, false));
  if (!parsed.ok || !parsed.value!.isObject()) return null;
  return parsed.value!.asObject();
}

/** A NumericDate claim (RFC 7519 §2) in whole seconds; `absent` when missing, `invalid` when not a number. */
const ABSENT: i64 = i64.MIN_VALUE;
const INVALID: i64 = i64.MIN_VALUE + 1;
function numericDate(claims: JsonObject, name: string): i64 {
  const v = claims.get(name);
  if (v == null) return ABSENT;
  if (!v.isNumber()) return INVALID;
  const n = v.asNumber().value;
  if (!(n >= 0 && n <= 1e15)) return INVALID; // also refuses NaN and infinities
  return <i64>Math.floor(n);
}

function verifySignature(key: Jwk, alg: string, token: string, dot2: i32, signature: Uint8Array): bool {
  const input = utf8(token, 0, dot2);
  const hash = hashFor(alg);
  if (key.type == KEY_OCT) return constantTimeEqual(key.hmacKey(hash).mac(input), signature);
  if (key.type == KEY_EC) return key.ec!.verify(input, signature);
  return key.rsa!.verify(hash, input, signature);
}

/** Checks the signature only: returns the decoded payload, or a verdict saying why not. */
export function verifyJws(token: string, keys: Jwk[], rules: JwtRules): JwtVerdict {
  const dot1 = token.indexOf('.');
  const dot2 = dot1 < 0 ? -1 : token.indexOf('.', dot1 + 1);
  if (dot1 <= 0 || dot2 < 0 || token.indexOf('.', dot2 + 1) >= 0 || dot2 == dot1 + 1) {
    return fail(JWT_MALFORMED, 'token is not a JWS compact serialization (header.payload.signature)');
  }
  const header = decodeObject(token, 0, dot1);
  if (header == null) return fail(JWT_MALFORMED, 'token header is not base64url-encoded JSON');
  const algValue = header.get('alg');
  if (algValue == null || !algValue.isString()) return fail(JWT_BAD_ALG, 'token header has no "alg"');
  const alg = algValue.asString().value;
  // "none" and anything unknown never verify; the allow-list narrows further.
  if (!ALGORITHMS.includes(alg)) return fail(JWT_BAD_ALG, 'algorithm ' + safe(alg) + ' is not supported');
  if (rules.algorithms.length > 0 && !rules.algorithms.includes(alg)) {
    return fail(JWT_BAD_ALG, 'algorithm ' + alg + ' is not allowed');
  }
  // RFC 7515 §4.1.11: extensions marked critical that we do not understand make the token invalid.
  if (header.has('crit')) return fail(JWT_MALFORMED, 'token uses critical header extensions');
  const signature = base64urlDecode(token, dot2 + 1, token.length);
  if (signature == null || signature.length == 0) return fail(JWT_MALFORMED, 'token signature is not base64url');
  const kidValue = header.get('kid');
  const kid = kidValue != null && kidValue.isString() ? kidValue.asString().value : '';
  let candidates = 0;
  let verified = false;
  for (let i = 0; i < keys.length && !verified; i++) {
    const key = keys[i];
    if (!key.accepts(alg)) continue;
    if (kid.length > 0 && key.kid.length > 0 && key.kid != kid) continue;
    candidates++;
    verified = verifySignature(key, alg, token, dot2, signature);
  }
  if (candidates == 0) return fail(JWT_NO_KEY, 'no key matches the token (kid/alg)');
  if (!verified) return fail(JWT_BAD_SIGNATURE, 'signature verification failed');
  const claims = decodeObject(token, dot1 + 1, dot2);
  if (claims == null) return fail(JWT_MALFORMED, 'token payload is not a JSON object');
  const exp = numericDate(claims, 'exp');
  const nbf = numericDate(claims, 'nbf');
  if (exp == INVALID || nbf == INVALID || numericDate(claims, 'iat') == INVALID) {
    return fail(JWT_MALFORMED, 'exp, nbf and iat must be numbers');
  }
  if (exp == ABSENT && rules.requireExpiration) return fail(JWT_MALFORMED, 'token has no "exp"');
  // Issuer and audience do not change with time, so they are checked once, before caching.
  if (rules.issuer.length > 0) {
    const iss = claims.getString('iss');
    if (iss == null || iss != rules.issuer) return fail(JWT_BAD_ISSUER, 'issuer is not accepted');
  }
  if (rules.audiences.length > 0 && !audienceMatches(claims.get('aud'), rules.audiences)) {
    return fail(JWT_BAD_AUDIENCE, 'audience is not accepted');
  }
  return new JwtVerdict(JWT_OK, '', claims, exp == ABSENT ? i64.MAX_VALUE : exp, nbf == ABSENT ? i64.MIN_VALUE : nbf);
}

/** Why a verified token with this exp and nbf is refused at `nowSeconds`, or null when it is not. */
export function timeFailure(exp: i64, nbf: i64, nowSeconds: i64, rules: JwtRules): JwtVerdict | null {
  const skew = rules.clockSkewSeconds;
  // RFC 7519 §4.1.4: the token must not be accepted on or after exp.
  if (exp != i64.MAX_VALUE && nowSeconds >= exp + skew) return fail(JWT_EXPIRED, 'token has expired');
  if (nbf != i64.MIN_VALUE && nowSeconds < nbf - skew) return fail(JWT_NOT_YET_VALID, 'token is not yet valid');
  return null;
}

/** The time checks (exp, nbf with skew) for a verified token, at `nowSeconds`. */
export function checkTime(v: JwtVerdict, nowSeconds: i64, rules: JwtRules): JwtVerdict {
  if (!v.ok) return v;
  const failure = timeFailure(v.exp, v.nbf, nowSeconds, rules);
  return failure != null ? failure : v;
}

/** Signature, issuer, audience and time, in one call. */
export function verifyJwt(token: string, keys: Jwk[], rules: JwtRules, nowSeconds: i64): JwtVerdict {
  return checkTime(verifyJws(token, keys, rules), nowSeconds, rules);
}

function audienceMatches(aud: JsonValue | null, accepted: string[]): bool {
  if (aud == null) return false;
  if (aud.isString()) return accepted.includes(aud.asString().value);
  if (!aud.isArray()) return false;
  const items = aud.asArray().items;
  for (let i = 0; i < items.length; i++) {
    if (items[i].isString() && accepted.includes(items[i].asString().value)) return true;
  }
  return false;
}

/** An algorithm name from a token, shortened and restricted to safe characters for messages. */
function safe(s: string): string {
  let out = '';
  for (let i = 0; i < s.length && i < 16; i++) {
    const c = s.charCodeAt(i);
    out += (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) ? String.fromCharCode(c) : '?';
  }
  return '"' + out + '"';
}

export { keyTypeFor };
