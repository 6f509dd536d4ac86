// Test helpers: signs JWTs with node:crypto (an independent JWS implementation) for the auth tests.
import { createHmac, generateKeyPairSync, type JsonWebKey, type KeyObject, sign } from 'node:crypto';

export type Alg = 'HS256' | 'HS384' | 'HS512' | 'RS256' | 'RS384' | 'RS512' | 'ES256';
export const ALGS: Alg[] = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256'];

const b64 = (data: string | Buffer) => Buffer.from(data).toString('base64url');

/** One signing key per algorithm family, with the public JWK a filter configuration would list. */
export class Signer {
  readonly hmacSecret = Buffer.from('a-test-secret-that-is-at-least-32-bytes-long!!');
  readonly rsa: { privateKey: KeyObject; jwk: JsonWebKey };
  readonly ec: { privateKey: KeyObject; jwk: JsonWebKey };

  constructor() {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.rsa = { privateKey: rsa.privateKey, jwk: { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa-1' } };
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.ec = { privateKey: ec.privateKey, jwk: { ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec-1' } };
  }

  jwks(): { keys: JsonWebKey[] } {
    return { keys: [{ kty: 'oct', k: b64(this.hmacSecret), kid: 'hmac-1' }, this.rsa.jwk, this.ec.jwk] };
  }

  /** A compact JWS over `claims`; `header` overrides fields of the protected header. */
  token(alg: Alg, claims: object, header: object = {}): string {
    const input = `${b64(JSON.stringify({ alg, typ: 'JWT', ...header }))}.${b64(JSON.stringify(claims))}`;
    return `${input}.${this.signature(alg, input).toString('base64url')}`;
  }

  signature(alg: Alg, input: string): Buffer {
    const hash = `sha${alg.slice(2)}`;
    if (alg.startsWith('HS')) return createHmac(hash, this.hmacSecret).update(input).digest();
    if (alg.startsWith('RS')) return sign(hash, Buffer.from(input), this.rsa.privateKey);
    return sign('sha256', Buffer.from(input), { key: this.ec.privateKey, dsaEncoding: 'ieee-p1363' });
  }
}

export function unsigned(claims: object, alg = 'none'): string {
  return `${b64(JSON.stringify({ alg, typ: 'JWT' }))}.${b64(JSON.stringify(claims))}.`;
}

/** Re-signs `header.payload` as HS256 using `secret` (for algorithm-confusion attacks). */
export function hs256With(secret: Buffer, header: object, claims: object): string {
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(claims))}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
