// JSON Web Keys (RFC 7517/7518 §6) → typed verification keys. A key's type fixes which algorithms
// it can verify, which is what rules out algorithm confusion: an RSA public key can never be used as
// an HMAC secret, whatever the token's header says.

import { HmacKey } from '../../../sdk/assembly/hmac';
import { JsonObject, JsonValue } from '../../../sdk/assembly/json';
import { SHA256, SHA384, SHA512 } from '../../../sdk/assembly/sha2';
import { base64urlDecode } from '../../crypto/assembly/base64url';
import { P256PublicKey, p256KeyError } from '../../crypto/assembly/p256';
import { RsaPublicKey, rsaKeyError } from '../../crypto/assembly/rsa';

/** JWS algorithms this filter implements (RFC 7518 §3.1). `none` is deliberately absent. */
export const ALGORITHMS: string[] = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256'];

export const KEY_OCT: i32 = 0;
export const KEY_RSA: i32 = 1;
export const KEY_EC: i32 = 2;

/** The key type an algorithm needs: "HS…" → oct, "RS…" → RSA, "ES256" → EC P-256; -1 if unknown. */
export function keyTypeFor(alg: string): i32 {
  if (alg == 'HS256' || alg == 'HS384' || alg == 'HS512') return KEY_OCT;
  if (alg == 'RS256' || alg == 'RS384' || alg == 'RS512') return KEY_RSA;
  if (alg == 'ES256') return KEY_EC;
  return -1;
}

/** The SHA-2 function of an algorithm name (its last three digits). */
export function hashFor(alg: string): i32 {
  return alg.endsWith('256') ? SHA256 : alg.endsWith('384') ? SHA384 : SHA512;
}

export class Jwk {
  kid: string = '';
  /** The JWK's own "alg", when it pins one; "" allows every algorithm of its key type. */
  alg: string = '';
  type: i32 = KEY_OCT;
  secret: Uint8Array | null = null;
  hmac: Map<i32, HmacKey> = new Map<i32, HmacKey>();
  rsa: RsaPublicKey | null = null;
  ec: P256PublicKey | null = null;

  /** Whether this key may verify a token signed with `alg`. */
  accepts(alg: string): bool {
    if (keyTypeFor(alg) != this.type) return false;
    return this.alg.length == 0 || this.alg == alg;
  }

  /** The HMAC key for a hash, computed once (padded keys are reused for every token). */
  hmacKey(hashKind: i32): HmacKey {
    if (!this.hmac.has(hashKind)) this.hmac.set(hashKind, new HmacKey(hashKind, this.secret!));
    return this.hmac.get(hashKind);
  }
}

/** The result of parsing a JWKS: the usable keys, and a reason for each key that was refused. */
export class JwksResult {
  keys: Jwk[] = [];
  errors: string[] = [];
  warnings: string[] = [];
}

function member(o: JsonObject, name: string): string {
  const v = o.getString(name);
  return v != null ? v : '';
}

function b64(o: JsonObject, name: string, where: string, errors: string[]): Uint8Array | null {
  const text = member(o, name);
  if (text.length == 0) {
    errors.push(where + ': missing "' + name + '"');
    return null;
  }
  const bytes = base64urlDecode(text);
  if (bytes == null) errors.push(where + ': "' + name + '" is not base64url');
  return bytes;
}

/** Parses one JWK; null (with a reason in `errors`) when unusable. Keys with "use" ≠ "sig" are skipped. */
export function parseJwk(v: JsonValue, where: string, errors: string[], warnings: string[] | null = null): Jwk | null {
  if (!v.isObject()) {
    errors.push(where + ': expected an object');
    return null;
  }
  const o = v.asObject();
  const use = member(o, 'use');
  if (use.length > 0 && use != 'sig') return null;
  const key = new Jwk();
  key.kid = member(o, 'kid');
  key.alg = member(o, 'alg');
  if (key.alg.length > 0 && keyTypeFor(key.alg) < 0) {
    errors.push(where + ': unsupported "alg" ' + key.alg);
    return null;
  }
  const kty = member(o, 'kty');
  if (kty == 'oct') {
    key.type = KEY_OCT;
    key.secret = b64(o, 'k', where, errors);
    if (key.secret == null) return null;
    if (key.secret!.length == 0) {
      errors.push(where + ': empty HMAC secret');
      return null;
    }
    if (warnings != null && key.secret!.length < 32) {
      warnings.push(where + ': HMAC secret shorter than 32 bytes (RFC 7518 §3.2 wants at least the hash size)');
    }
  } else if (kty == 'RSA') {
    key.type = KEY_RSA;
    const n = b64(o, 'n', where, errors);
    const e = b64(o, 'e', where, errors);
    if (n == null || e == null) return null;
    key.rsa = RsaPublicKey.create(n, e);
    if (key.rsa == null) {
      errors.push(where + ': ' + rsaKeyError);
      return null;
    }
  } else if (kty == 'EC') {
    key.type = KEY_EC;
    if (member(o, 'crv') != 'P-256') {
      errors.push(where + ': only the P-256 curve is supported');
      return null;
    }
    const x = b64(o, 'x', where, errors);
    const y = b64(o, 'y', where, errors);
    if (x == null || y == null) return null;
    key.ec = P256PublicKey.create(x, y);
    if (key.ec == null) {
      errors.push(where + ': ' + p256KeyError);
      return null;
    }
  } else {
    errors.push(where + ': unsupported "kty" ' + (kty.length > 0 ? kty : '(missing)'));
    return null;
  }
  if (key.alg.length > 0 && keyTypeFor(key.alg) != key.type) {
    errors.push(where + ': "alg" ' + key.alg + ' does not match "kty" ' + kty);
    return null;
  }
  return key;
}

/** Parses a JWK Set ({"keys": [...]}). */
export function parseJwks(v: JsonValue, where: string): JwksResult {
  const out = new JwksResult();
  if (!v.isObject()) {
    out.errors.push(where + ': expected a JWK Set object');
    return out;
  }
  const keys = v.asObject().get('keys');
  if (keys == null || !keys.isArray()) {
    out.errors.push(where + ': expected a "keys" array');
    return out;
  }
  const items = keys.asArray().items;
  for (let i = 0; i < items.length; i++) {
    const k = parseJwk(items[i], where + '.keys[' + i.toString() + ']', out.errors, out.warnings);
    if (k != null) out.keys.push(k);
  }
  return out;
}
