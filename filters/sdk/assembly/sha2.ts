// SHA-256 and SHA-384/512 (FIPS 180-4) as streaming hashers, plus one-shot helpers.
// Written for speed in wasm: raw loads, preallocated schedule buffers, no per-block allocation.

// The round constants are static data made on first use (a function, not a module-level array): a
// module that never hashes does not carry them.
function k256(): usize {
  return memory.data<u32>([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
    0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
    0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
    0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
  ]);
}

function k512(): usize {
  return memory.data<u64>([
    0x428a2f98d728ae22, 0x7137449123ef65cd, 0xb5c0fbcfec4d3b2f, 0xe9b5dba58189dbbc, 0x3956c25bf348b538,
    0x59f111f1b605d019, 0x923f82a4af194f9b, 0xab1c5ed5da6d8118, 0xd807aa98a3030242, 0x12835b0145706fbe,
    0x243185be4ee4b28c, 0x550c7dc3d5ffb4e2, 0x72be5d74f27b896f, 0x80deb1fe3b1696b1, 0x9bdc06a725c71235,
    0xc19bf174cf692694, 0xe49b69c19ef14ad2, 0xefbe4786384f25e3, 0x0fc19dc68b8cd5b5, 0x240ca1cc77ac9c65,
    0x2de92c6f592b0275, 0x4a7484aa6ea6e483, 0x5cb0a9dcbd41fbd4, 0x76f988da831153b5, 0x983e5152ee66dfab,
    0xa831c66d2db43210, 0xb00327c898fb213f, 0xbf597fc7beef0ee4, 0xc6e00bf33da88fc2, 0xd5a79147930aa725,
    0x06ca6351e003826f, 0x142929670a0e6e70, 0x27b70a8546d22ffc, 0x2e1b21385c26c926, 0x4d2c6dfc5ac42aed,
    0x53380d139d95b3df, 0x650a73548baf63de, 0x766a0abb3c77b2a8, 0x81c2c92e47edaee6, 0x92722c851482353b,
    0xa2bfe8a14cf10364, 0xa81a664bbc423001, 0xc24b8b70d0f89791, 0xc76c51a30654be30, 0xd192e819d6ef5218,
    0xd69906245565a910, 0xf40e35855771202a, 0x106aa07032bbd1b8, 0x19a4c116b8d2d0c8, 0x1e376c085141ab53,
    0x2748774cdf8eeb99, 0x34b0bcb5e19b48a8, 0x391c0cb3c5c95a63, 0x4ed8aa4ae3418acb, 0x5b9cca4f7763e373,
    0x682e6ff3d6b2b8a3, 0x748f82ee5defb2fc, 0x78a5636f43172f60, 0x84c87814a1f0ab72, 0x8cc702081a6439ec,
    0x90befffa23631e28, 0xa4506cebde82bde9, 0xbef9a3f7b2c67915, 0xc67178f2e372532b, 0xca273eceea26619c,
    0xd186b8c721c0c207, 0xeada7dd6cde0eb1e, 0xf57d4f7fee6ed178, 0x06f067aa72176fba, 0x0a637dc5a2c898a6,
    0x113f9804bef90dae, 0x1b710b35131c471b, 0x28db77f523047d84, 0x32caab7b40c72493, 0x3c9ebe0a15c9bebc,
    0x431d67c49c100d4c, 0x4cc5d4becb3e42b6, 0x597f299cfc657e2a, 0x5fcb6fab3ad6faec, 0x6c44198c4a475817,
  ]);
}

/** Which SHA-2 function. The values are stable: they cross into test exports. */
export type HashKind = i32;
export const SHA256: HashKind = 0;
export const SHA384: HashKind = 1;
export const SHA512: HashKind = 2;

export function digestLength(kind: HashKind): i32 {
  return kind == SHA256 ? 32 : kind == SHA384 ? 48 : 64;
}

export function blockLength(kind: HashKind): i32 {
  return kind == SHA256 ? 64 : 128;
}

/** A streaming SHA-2 hasher: `update` any number of times, then `digest` (which also resets). */
export abstract class Hasher {
  abstract update(data: Uint8Array): void;
  abstract updateRaw(ptr: usize, len: i32): void;
  abstract digest(): Uint8Array;
  abstract reset(): void;
}

export class Sha256 extends Hasher {
  private h: StaticArray<u32> = new StaticArray<u32>(8);
  private w: StaticArray<u32> = new StaticArray<u32>(64);
  private buf: StaticArray<u8> = new StaticArray<u8>(64);
  private bufLen: i32 = 0;
  private total: u64 = 0;

  constructor() {
    super();
    this.reset();
  }

  reset(): void {
    const h = changetype<usize>(this.h);
    store<u32>(h, 0x6a09e667, 0);
    store<u32>(h, 0xbb67ae85, 4);
    store<u32>(h, 0x3c6ef372, 8);
    store<u32>(h, 0xa54ff53a, 12);
    store<u32>(h, 0x510e527f, 16);
    store<u32>(h, 0x9b05688c, 20);
    store<u32>(h, 0x1f83d9ab, 24);
    store<u32>(h, 0x5be0cd19, 28);
    this.bufLen = 0;
    this.total = 0;
  }

  update(data: Uint8Array): void {
    this.updateRaw(data.dataStart, data.length);
  }

  updateRaw(ptr: usize, len: i32): void {
    this.total += <u64>len;
    const buf = changetype<usize>(this.buf);
    if (this.bufLen > 0) {
      const take = min(64 - this.bufLen, len);
      memory.copy(buf + <usize>this.bufLen, ptr, <usize>take);
      this.bufLen += take;
      ptr += <usize>take;
      len -= take;
      if (this.bufLen < 64) return;
      this.block(buf);
      this.bufLen = 0;
    }
    while (len >= 64) {
      this.block(ptr);
      ptr += 64;
      len -= 64;
    }
    if (len > 0) {
      memory.copy(buf, ptr, <usize>len);
      this.bufLen = len;
    }
  }

  digest(): Uint8Array {
    const bits = this.total << 3;
    const buf = changetype<usize>(this.buf);
    let n = this.bufLen;
    store<u8>(buf + <usize>n, 0x80);
    n++;
    if (n > 56) {
      memory.fill(buf + <usize>n, 0, <usize>(64 - n));
      this.block(buf);
      n = 0;
    }
    memory.fill(buf + <usize>n, 0, <usize>(56 - n));
    store<u64>(buf, bswap<u64>(bits), 56);
    this.block(buf);
    const out = new Uint8Array(32);
    const h = changetype<usize>(this.h);
    for (let i = 0; i < 8; i++)
      store<u32>(out.dataStart + ((<usize>i) << 2), bswap<u32>(load<u32>(h + ((<usize>i) << 2))));
    this.reset();
    return out;
  }

  private block(p: usize): void {
    const w = changetype<usize>(this.w);
    const k = k256();
    for (let i: usize = 0; i < 16; i++) store<u32>(w + (i << 2), bswap<u32>(load<u32>(p + (i << 2))));
    for (let i: usize = 16; i < 64; i++) {
      const w15 = load<u32>(w + ((i - 15) << 2));
      const w2 = load<u32>(w + ((i - 2) << 2));
      const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
      const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
      store<u32>(w + (i << 2), load<u32>(w + ((i - 16) << 2)) + s0 + load<u32>(w + ((i - 7) << 2)) + s1);
    }
    const h = changetype<usize>(this.h);
    let a = load<u32>(h, 0);
    let b = load<u32>(h, 4);
    let c = load<u32>(h, 8);
    let d = load<u32>(h, 12);
    let e = load<u32>(h, 16);
    let f = load<u32>(h, 20);
    let g = load<u32>(h, 24);
    let hh = load<u32>(h, 28);
    for (let i: usize = 0; i < 64; i++) {
      const S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
      const ch = (e & f) ^ (~e & g);
      const t1 = hh + S1 + ch + load<u32>(k + (i << 2)) + load<u32>(w + (i << 2));
      const S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = S0 + maj;
      hh = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    store<u32>(h, load<u32>(h, 0) + a, 0);
    store<u32>(h, load<u32>(h, 4) + b, 4);
    store<u32>(h, load<u32>(h, 8) + c, 8);
    store<u32>(h, load<u32>(h, 12) + d, 12);
    store<u32>(h, load<u32>(h, 16) + e, 16);
    store<u32>(h, load<u32>(h, 20) + f, 20);
    store<u32>(h, load<u32>(h, 24) + g, 24);
    store<u32>(h, load<u32>(h, 28) + hh, 28);
  }
}

/** SHA-512, or SHA-384 when `is384` (different initial values, digest truncated to 48 bytes). */
export class Sha512 extends Hasher {
  private h: StaticArray<u64> = new StaticArray<u64>(8);
  private w: StaticArray<u64> = new StaticArray<u64>(80);
  private buf: StaticArray<u8> = new StaticArray<u8>(128);
  private bufLen: i32 = 0;
  private total: u64 = 0;
  private is384: bool;

  constructor(is384: bool) {
    super();
    this.is384 = is384;
    this.reset();
  }

  reset(): void {
    const h = changetype<usize>(this.h);
    if (this.is384) {
      store<u64>(h, 0xcbbb9d5dc1059ed8, 0);
      store<u64>(h, 0x629a292a367cd507, 8);
      store<u64>(h, 0x9159015a3070dd17, 16);
      store<u64>(h, 0x152fecd8f70e5939, 24);
      store<u64>(h, 0x67332667ffc00b31, 32);
      store<u64>(h, 0x8eb44a8768581511, 40);
      store<u64>(h, 0xdb0c2e0d64f98fa7, 48);
      store<u64>(h, 0x47b5481dbefa4fa4, 56);
    } else {
      store<u64>(h, 0x6a09e667f3bcc908, 0);
      store<u64>(h, 0xbb67ae8584caa73b, 8);
      store<u64>(h, 0x3c6ef372fe94f82b, 16);
      store<u64>(h, 0xa54ff53a5f1d36f1, 24);
      store<u64>(h, 0x510e527fade682d1, 32);
      store<u64>(h, 0x9b05688c2b3e6c1f, 40);
      store<u64>(h, 0x1f83d9abfb41bd6b, 48);
      store<u64>(h, 0x5be0cd19137e2179, 56);
    }
    this.bufLen = 0;
    this.total = 0;
  }

  update(data: Uint8Array): void {
    this.updateRaw(data.dataStart, data.length);
  }

  updateRaw(ptr: usize, len: i32): void {
    this.total += <u64>len;
    const buf = changetype<usize>(this.buf);
    if (this.bufLen > 0) {
      const take = min(128 - this.bufLen, len);
      memory.copy(buf + <usize>this.bufLen, ptr, <usize>take);
      this.bufLen += take;
      ptr += <usize>take;
      len -= take;
      if (this.bufLen < 128) return;
      this.block(buf);
      this.bufLen = 0;
    }
    while (len >= 128) {
      this.block(ptr);
      ptr += 128;
      len -= 128;
    }
    if (len > 0) {
      memory.copy(buf, ptr, <usize>len);
      this.bufLen = len;
    }
  }

  digest(): Uint8Array {
    const bits = this.total << 3;
    const buf = changetype<usize>(this.buf);
    let n = this.bufLen;
    store<u8>(buf + <usize>n, 0x80);
    n++;
    if (n > 112) {
      memory.fill(buf + <usize>n, 0, <usize>(128 - n));
      this.block(buf);
      n = 0;
    }
    memory.fill(buf + <usize>n, 0, <usize>(120 - n));
    // 128-bit big-endian length; the high 64 bits of a wasm32 message length are always zero.
    store<u64>(buf, 0, 112);
    store<u64>(buf, bswap<u64>(bits), 120);
    this.block(buf);
    const words = this.is384 ? 6 : 8;
    const out = new Uint8Array(words << 3);
    const h = changetype<usize>(this.h);
    for (let i = 0; i < words; i++) {
      store<u64>(out.dataStart + ((<usize>i) << 3), bswap<u64>(load<u64>(h + ((<usize>i) << 3))));
    }
    this.reset();
    return out;
  }

  private block(p: usize): void {
    const w = changetype<usize>(this.w);
    const k = k512();
    for (let i: usize = 0; i < 16; i++) store<u64>(w + (i << 3), bswap<u64>(load<u64>(p + (i << 3))));
    for (let i: usize = 16; i < 80; i++) {
      const w15 = load<u64>(w + ((i - 15) << 3));
      const w2 = load<u64>(w + ((i - 2) << 3));
      const s0 = rotr<u64>(w15, 1) ^ rotr<u64>(w15, 8) ^ (w15 >>> 7);
      const s1 = rotr<u64>(w2, 19) ^ rotr<u64>(w2, 61) ^ (w2 >>> 6);
      store<u64>(w + (i << 3), load<u64>(w + ((i - 16) << 3)) + s0 + load<u64>(w + ((i - 7) << 3)) + s1);
    }
    const h = changetype<usize>(this.h);
    let a = load<u64>(h, 0);
    let b = load<u64>(h, 8);
    let c = load<u64>(h, 16);
    let d = load<u64>(h, 24);
    let e = load<u64>(h, 32);
    let f = load<u64>(h, 40);
    let g = load<u64>(h, 48);
    let hh = load<u64>(h, 56);
    for (let i: usize = 0; i < 80; i++) {
      const S1 = rotr<u64>(e, 14) ^ rotr<u64>(e, 18) ^ rotr<u64>(e, 41);
      const ch = (e & f) ^ (~e & g);
      const t1 = hh + S1 + ch + load<u64>(k + (i << 3)) + load<u64>(w + (i << 3));
      const S0 = rotr<u64>(a, 28) ^ rotr<u64>(a, 34) ^ rotr<u64>(a, 39);
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = S0 + maj;
      hh = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    store<u64>(h, load<u64>(h, 0) + a, 0);
    store<u64>(h, load<u64>(h, 8) + b, 8);
    store<u64>(h, load<u64>(h, 16) + c, 16);
    store<u64>(h, load<u64>(h, 24) + d, 24);
    store<u64>(h, load<u64>(h, 32) + e, 32);
    store<u64>(h, load<u64>(h, 40) + f, 40);
    store<u64>(h, load<u64>(h, 48) + g, 48);
    store<u64>(h, load<u64>(h, 56) + hh, 56);
  }
}

// One hasher per kind, reused: filters run single-threaded per wasm instance. Held as pinned
// addresses, not as class-typed globals: AssemblyScript compiles a class-typed global (and its
// class) into every module that imports this file, hashing or not.
let sha256At: usize = 0;
let sha384At: usize = 0;
let sha512At: usize = 0;

/** The shared hasher for `kind` (reset, ready for `update`). */
export function hasher(kind: HashKind): Hasher {
  if (kind == SHA256) {
    if (sha256At == 0) sha256At = __pin(changetype<usize>(new Sha256()));
    return changetype<Sha256>(sha256At);
  }
  if (kind == SHA384) {
    if (sha384At == 0) sha384At = __pin(changetype<usize>(new Sha512(true)));
    return changetype<Sha512>(sha384At);
  }
  if (sha512At == 0) sha512At = __pin(changetype<usize>(new Sha512(false)));
  return changetype<Sha512>(sha512At);
}

export function hash(kind: HashKind, data: Uint8Array): Uint8Array {
  const h = hasher(kind);
  h.reset();
  h.update(data);
  return h.digest();
}
