// RSASSA-PKCS1-v1_5 signature verification (RFC 8017 §8.2.2) for RS256/384/512.
import { constantTimeEqual } from '../../../sdk/assembly/bytes';
import { digestLength, HashKind, hash, SHA256, SHA384 } from '../../../sdk/assembly/sha2';
import { bitLength, compare, Limbs, limbsFromBytes, limbsToBytes, Modulus } from './montgomery';

export const RSA_MIN_BITS = 2048;
export const RSA_MAX_BITS = 4096;

// DER DigestInfo prefixes (RFC 8017 §9.2 note 1), with the NULL parameters that the RFC requires.
const PREFIX_SHA256: StaticArray<u8> = [
  0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
];
const PREFIX_SHA384: StaticArray<u8> = [
  0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30,
];
const PREFIX_SHA512: StaticArray<u8> = [
  0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40,
];

/** Why a key was refused (empty when it was accepted). */
export let rsaKeyError = '';

export class RsaPublicKey {
  readonly modulus: Modulus;
  readonly e: Limbs;
  /** Length of n in bytes: a valid signature has exactly this length. */
  readonly byteLength: i32;
  readonly bits: i32;

  /**
   * Builds a key from big-endian n and e (as in a JWK). null, with `rsaKeyError` set, unless
   * n is odd with RSA_MIN_BITS..RSA_MAX_BITS bits and e is odd, 3 <= e < 2^64.
   */
  static create(n: Uint8Array, e: Uint8Array): RsaPublicKey | null {
    let start = 0;
    while (start < n.length && n[start] == 0) start++;
    const k = (n.length - start + 3) >> 2;
    const limbs = k > 0 ? limbsFromBytes(n, k) : null;
    const bits = limbs != null ? bitLength(limbs) : 0;
    if (limbs == null || bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
      rsaKeyError = 'RSA modulus must have 2048 to 4096 bits';
      return null;
    }
    const modulus = Modulus.create(limbs);
    if (modulus == null) {
      rsaKeyError = 'RSA modulus must be odd';
      return null;
    }
    const el = limbsFromBytes(e, 2);
    if (el == null || (unchecked(el[0]) & 1) == 0 || bitLength(el) < 2) {
      rsaKeyError = 'RSA exponent must be odd, at least 3 and below 2^64';
      return null;
    }
    rsaKeyError = '';
    return new RsaPublicKey(modulus, el, (bits + 7) >> 3, bits);
  }

  private constructor(modulus: Modulus, e: Limbs, byteLength: i32, bits: i32) {
    this.modulus = modulus;
    this.e = e;
    this.byteLength = byteLength;
    this.bits = bits;
  }

  /** True iff `signature` is a PKCS#1 v1.5 signature of `message` with SHA-2 `kind` under this key. */
  verify(kind: HashKind, message: Uint8Array, signature: Uint8Array): bool {
    if (signature.length != this.byteLength) return false;
    const mod = this.modulus;
    const s = limbsFromBytes(signature, mod.k);
    if (s == null || compare(s, mod.n) >= 0) return false;
    const m = new StaticArray<u32>(mod.k);
    mod.toMont(m, s);
    mod.pow(m, m, this.e);
    mod.fromMont(m, m);
    const em = limbsToBytes(m, this.byteLength);
    return constantTimeEqual(em, encodedMessage(kind, hash(kind, message), this.byteLength));
  }
}

/** EMSA-PKCS1-v1_5 encoding: 00 01 FF…FF 00 DigestInfo(H). */
function encodedMessage(kind: HashKind, digest: Uint8Array, len: i32): Uint8Array {
  const prefix = kind == SHA256 ? PREFIX_SHA256 : kind == SHA384 ? PREFIX_SHA384 : PREFIX_SHA512;
  const tLen = prefix.length + digestLength(kind);
  const out = new Uint8Array(len);
  out[1] = 1;
  const psEnd = len - tLen - 1;
  for (let i = 2; i < psEnd; i++) out[i] = 0xff;
  memory.copy(out.dataStart + <usize>(psEnd + 1), changetype<usize>(prefix), <usize>prefix.length);
  memory.copy(out.dataStart + <usize>(psEnd + 1 + prefix.length), digest.dataStart, <usize>digest.length);
  return out;
}
