// ECDSA verification over NIST P-256 (FIPS 186-4 §6.4.2) for ES256, with JWS's raw r||s signatures
// (RFC 7518 §3.4). Points are Jacobian (X, Y, Z) with coordinates in Montgomery form mod p.

import { hash, SHA256 } from '../../../sdk/assembly/sha2';
import { bit, compare, copyInto, isZero, Limbs, limbsFromBytes, Modulus } from './montgomery';

function hex(s: string): Limbs {
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) bytes[i] = <u8>I32.parseInt(s.substr(i << 1, 2), 16);
  return limbsFromBytes(bytes, 8)!;
}

const P = Modulus.create(hex('ffffffff00000001000000000000000000000000ffffffffffffffffffffffff'))!;
const N = Modulus.create(hex('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'))!;
const B = toMontP(hex('5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b'));
const GX = hex('6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296');
const GY = hex('4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5');

function toMontP(a: Limbs): Limbs {
  const out = new StaticArray<u32>(8);
  P.toMont(out, a);
  return out;
}

function fe(): Limbs {
  return new StaticArray<u32>(8);
}

class Point {
  x: Limbs = fe();
  y: Limbs = fe();
  z: Limbs = fe();

  /** From affine coordinates (plain, < p). */
  static affine(x: Limbs, y: Limbs): Point {
    const p = new Point();
    P.toMont(p.x, x);
    P.toMont(p.y, y);
    copyInto(p.z, P.one);
    return p;
  }

  isInfinity(): bool {
    return isZero(this.z);
  }

  set(o: Point): void {
    copyInto(this.x, o.x);
    copyInto(this.y, o.y);
    copyInto(this.z, o.z);
  }
}

// Scratch field elements: verification is single-threaded within one wasm instance.
const t0 = fe();
const t1 = fe();
const t2 = fe();
const t3 = fe();
const t4 = fe();
const t5 = fe();
const t6 = fe();

/** p = 2p, with a = -3 (dbl-2001-b). */
function double(p: Point): void {
  if (p.isInfinity()) return;
  const delta = t0;
  const gamma = t1;
  const beta = t2;
  const alpha = t3;
  P.mul(delta, p.z, p.z);
  P.mul(gamma, p.y, p.y);
  P.mul(beta, p.x, gamma);
  P.sub(t4, p.x, delta);
  P.add(t5, p.x, delta);
  P.mul(alpha, t4, t5);
  P.add(t4, alpha, alpha);
  P.add(alpha, alpha, t4); // alpha = 3(X-δ)(X+δ)
  // Z3 = (Y+Z)^2 - γ - δ
  P.add(t4, p.y, p.z);
  P.mul(t4, t4, t4);
  P.sub(t4, t4, gamma);
  P.sub(p.z, t4, delta);
  // X3 = α^2 - 8β
  P.add(t4, beta, beta);
  P.add(t4, t4, t4); // 4β
  P.add(t5, t4, t4); // 8β
  P.mul(p.x, alpha, alpha);
  P.sub(p.x, p.x, t5);
  // Y3 = α(4β - X3) - 8γ^2
  P.sub(t4, t4, p.x);
  P.mul(t4, alpha, t4);
  P.mul(t5, gamma, gamma);
  P.add(t5, t5, t5);
  P.add(t5, t5, t5);
  P.add(t5, t5, t5);
  P.sub(p.y, t4, t5);
}

const u1s = fe();
const u2s = fe();
const s1s = fe();
const s2s = fe();

/** p = p + q (general Jacobian addition; falls back to doubling when p == q). */
function add(p: Point, q: Point): void {
  if (q.isInfinity()) return;
  if (p.isInfinity()) {
    p.set(q);
    return;
  }
  P.mul(t0, q.z, q.z); // Z2^2
  P.mul(t1, p.z, p.z); // Z1^2
  P.mul(u1s, p.x, t0);
  P.mul(u2s, q.x, t1);
  P.mul(t0, t0, q.z); // Z2^3
  P.mul(t1, t1, p.z); // Z1^3
  P.mul(s1s, p.y, t0);
  P.mul(s2s, q.y, t1);
  const h = t2;
  const r = t3;
  P.sub(h, u2s, u1s);
  P.sub(r, s2s, s1s);
  if (isZero(h)) {
    if (isZero(r)) double(p);
    else memory.fill(changetype<usize>(p.z), 0, 32); // p = -q: infinity
    return;
  }
  P.mul(t4, h, h); // H^2
  P.mul(t5, t4, h); // H^3
  P.mul(t6, u1s, t4); // U1 H^2
  // Z3 = H Z1 Z2
  P.mul(p.z, p.z, q.z);
  P.mul(p.z, p.z, h);
  // X3 = r^2 - H^3 - 2 U1 H^2
  P.mul(p.x, r, r);
  P.sub(p.x, p.x, t5);
  P.sub(p.x, p.x, t6);
  P.sub(p.x, p.x, t6);
  // Y3 = r (U1 H^2 - X3) - S1 H^3
  P.sub(t6, t6, p.x);
  P.mul(t6, r, t6);
  P.mul(t5, s1s, t5);
  P.sub(p.y, t6, t5);
}

/** p = p + q for an affine q (Z = 1 in Montgomery form, or the point at infinity): "mixed" addition
 * skips the five multiplications that involve Z2. */
function addAffine(p: Point, q: Point): void {
  if (q.isInfinity()) return;
  if (p.isInfinity()) {
    p.set(q);
    return;
  }
  P.mul(t1, p.z, p.z); // Z1^2
  P.mul(u2s, q.x, t1); // U2 = X2 Z1^2 (U1 = X1)
  P.mul(t1, t1, p.z); // Z1^3
  P.mul(s2s, q.y, t1); // S2 = Y2 Z1^3 (S1 = Y1)
  const h = t2;
  const r = t3;
  P.sub(h, u2s, p.x);
  P.sub(r, s2s, p.y);
  if (isZero(h)) {
    if (isZero(r)) double(p);
    else memory.fill(changetype<usize>(p.z), 0, 32);
    return;
  }
  P.mul(t4, h, h); // H^2
  P.mul(t5, t4, h); // H^3
  P.mul(t6, p.x, t4); // X1 H^2
  P.mul(p.z, p.z, h);
  P.mul(p.x, r, r);
  P.sub(p.x, p.x, t5);
  P.sub(p.x, p.x, t6);
  P.sub(p.x, p.x, t6);
  P.sub(t6, t6, p.x);
  P.mul(t6, r, t6);
  P.mul(t5, p.y, t5);
  P.sub(p.y, t6, t5);
}

/** In place: Jacobian → affine (Z = 1), unless p is the point at infinity. */
function normalize(p: Point): void {
  if (p.isInfinity()) return;
  const pm2 = fe();
  copyInto(pm2, P.n);
  unchecked((pm2[0] -= 2));
  const zinv = fe();
  P.pow(zinv, p.z, pm2);
  const zinv2 = fe();
  P.mul(zinv2, zinv, zinv);
  P.mul(p.x, p.x, zinv2);
  P.mul(zinv2, zinv2, zinv);
  P.mul(p.y, p.y, zinv2);
  copyInto(p.z, P.one);
}

const G = Point.affine(GX, GY);

/** Why a key was refused (empty when it was accepted). */
export let p256KeyError = '';

export class P256PublicKey {
  // Affine, so the loop can use mixed addition.
  private q: Point;
  private gq: Point; // G + Q, for Shamir's trick

  /** From the 32-byte big-endian affine coordinates (JWK x, y); null unless the point is on the curve. */
  static create(x: Uint8Array, y: Uint8Array): P256PublicKey | null {
    if (x.length != 32 || y.length != 32) {
      p256KeyError = 'P-256 coordinates must be 32 bytes each';
      return null;
    }
    const xl = limbsFromBytes(x, 8)!;
    const yl = limbsFromBytes(y, 8)!;
    if (compare(xl, P.n) >= 0 || compare(yl, P.n) >= 0) {
      p256KeyError = 'P-256 coordinate out of range';
      return null;
    }
    const q = Point.affine(xl, yl);
    // y^2 = x^3 - 3x + b
    const lhs = fe();
    const rhs = fe();
    P.mul(lhs, q.y, q.y);
    P.mul(rhs, q.x, q.x);
    P.mul(rhs, rhs, q.x);
    P.sub(rhs, rhs, q.x);
    P.sub(rhs, rhs, q.x);
    P.sub(rhs, rhs, q.x);
    P.add(rhs, rhs, B);
    if (compare(lhs, rhs) != 0) {
      p256KeyError = 'point is not on the P-256 curve';
      return null;
    }
    p256KeyError = '';
    return new P256PublicKey(q);
  }

  private constructor(q: Point) {
    this.q = q;
    const gq = new Point();
    gq.set(G);
    add(gq, q);
    normalize(gq);
    this.gq = gq;
  }

  /** True iff `signature` (r||s, 64 bytes) is an ECDSA P-256 SHA-256 signature of `message`. */
  verify(message: Uint8Array, signature: Uint8Array): bool {
    return this.verifyDigest(hash(SHA256, message), signature);
  }

  verifyDigest(digest: Uint8Array, signature: Uint8Array): bool {
    if (signature.length != 64 || digest.length != 32) return false;
    const r = limbsFromBytes(signature.subarray(0, 32), 8)!;
    const s = limbsFromBytes(signature.subarray(32, 64), 8)!;
    const n = N.n;
    if (isZero(r) || isZero(s) || compare(r, n) >= 0 || compare(s, n) >= 0) return false;
    // e = digest mod n (a 256-bit digest is below 2n).
    const e = limbsFromBytes(digest, 8)!;
    if (compare(e, n) >= 0) N.sub(e, e, n);
    // w = s^-1 = s^(n-2) mod n (n is prime); u1 = e·w, u2 = r·w. mul(plain, mont) yields plain.
    const w = fe();
    N.toMont(w, s);
    const nm2 = fe();
    copyInto(nm2, n);
    unchecked((nm2[0] -= 2)); // n is odd and > 2: no borrow
    N.pow(w, w, nm2);
    const u1 = fe();
    const u2 = fe();
    N.mul(u1, e, w);
    N.mul(u2, r, w);
    // R = u1·G + u2·Q by simultaneous double-and-add.
    const acc = new Point();
    for (let i = 255; i >= 0; i--) {
      double(acc);
      const b1 = bit(u1, i);
      const b2 = bit(u2, i);
      if (b1 & b2) addAffine(acc, this.gq);
      else if (b1) addAffine(acc, G);
      else if (b2) addAffine(acc, this.q);
    }
    if (acc.isInfinity()) return false;
    // Affine x = X / Z^2, then compare x mod n with r.
    const zinv = fe();
    const pm2 = fe();
    copyInto(pm2, P.n);
    unchecked((pm2[0] -= 2));
    P.pow(zinv, acc.z, pm2);
    P.mul(zinv, zinv, zinv);
    const x = fe();
    P.mul(x, acc.x, zinv);
    P.fromMont(x, x);
    if (compare(x, n) >= 0) N.sub(x, x, n);
    return compare(x, r) == 0;
  }
}
