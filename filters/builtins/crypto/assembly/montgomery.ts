// Fixed-width modular arithmetic in Montgomery form, for odd moduli (RSA moduli, the P-256 field
// prime and group order). Numbers are StaticArray<u32> of `k` little-endian 32-bit limbs; products
// use 64-bit wasm arithmetic. Montgomery multiplication is CIOS (Koç, Acar, Kaliski 1996).

export type Limbs = StaticArray<u32>;

/** Big-endian bytes → k limbs; null if the value needs more than k limbs. Leading zero bytes are fine. */
export function limbsFromBytes(bytes: Uint8Array, k: i32): Limbs | null {
  const out = new StaticArray<u32>(k);
  const n = bytes.length;
  for (let i = 0; i < n; i++) {
    const b = <u32>bytes[n - 1 - i];
    if (b == 0) continue;
    const limb = i >> 2;
    if (limb >= k) return null;
    unchecked((out[limb] |= b << ((<u32>(i & 3)) << 3)));
  }
  return out;
}

/** k limbs → exactly `len` big-endian bytes (the value must fit). */
export function limbsToBytes(a: Limbs, len: i32): Uint8Array {
  const out = new Uint8Array(len);
  const k = a.length;
  for (let i = 0; i < len; i++) {
    const limb = i >> 2;
    if (limb >= k) break;
    out[len - 1 - i] = <u8>(unchecked(a[limb]) >> ((<u32>(i & 3)) << 3));
  }
  return out;
}

export function isZero(a: Limbs): bool {
  let acc: u32 = 0;
  for (let i = 0; i < a.length; i++) acc |= unchecked(a[i]);
  return acc == 0;
}

/** -1, 0 or 1 as a <, =, > b (same length). */
export function compare(a: Limbs, b: Limbs): i32 {
  for (let i = a.length - 1; i >= 0; i--) {
    const x = unchecked(a[i]);
    const y = unchecked(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Number of significant bits. */
export function bitLength(a: Limbs): i32 {
  for (let i = a.length - 1; i >= 0; i--) {
    const x = unchecked(a[i]);
    if (x != 0) return (i << 5) + 32 - <i32>clz<u32>(x);
  }
  return 0;
}

export function bit(a: Limbs, i: i32): u32 {
  return (unchecked(a[i >> 5]) >> <u32>(i & 31)) & 1;
}

export function copyInto(out: Limbs, a: Limbs): void {
  memory.copy(changetype<usize>(out), changetype<usize>(a), (<usize>a.length) << 2);
}

// out = a - b over k limbs; returns the borrow.
function subRaw(out: usize, a: usize, b: usize, k: i32): u32 {
  let borrow: u64 = 0;
  for (let i: usize = 0; i < <usize>k; i++) {
    const d = <u64>load<u32>(a + (i << 2)) - <u64>load<u32>(b + (i << 2)) - borrow;
    store<u32>(out + (i << 2), <u32>d);
    borrow = (d >> 32) & 1;
  }
  return <u32>borrow;
}

// out = a + b over k limbs; returns the carry.
function addRaw(out: usize, a: usize, b: usize, k: i32): u32 {
  let carry: u64 = 0;
  for (let i: usize = 0; i < <usize>k; i++) {
    const s = <u64>load<u32>(a + (i << 2)) + <u64>load<u32>(b + (i << 2)) + carry;
    store<u32>(out + (i << 2), <u32>s);
    carry = s >> 32;
  }
  return <u32>carry;
}

/** An odd modulus with its Montgomery constants (R = 2^(32k)). */
export class Modulus {
  readonly k: i32;
  readonly n: Limbs;
  /** -n^-1 mod 2^32 */
  readonly n0inv: u32;
  /** R mod n: the Montgomery form of 1. */
  readonly one: Limbs;
  /** R^2 mod n: multiplying by it converts into Montgomery form. */
  readonly rr: Limbs;
  private t: Limbs;
  private tmp: Limbs;

  /** null unless n is odd and > 1. */
  static create(n: Limbs): Modulus | null {
    if ((unchecked(n[0]) & 1) == 0 || bitLength(n) < 2) return null;
    return new Modulus(n);
  }

  private constructor(n: Limbs) {
    const k = n.length;
    this.k = k;
    this.n = n;
    // Newton iteration for n0^-1 mod 2^32: each step doubles the correct low bits (1→2→4→…→32).
    const n0 = unchecked(n[0]);
    let inv: u32 = 1;
    for (let i = 0; i < 5; i++) inv *= 2 - n0 * inv;
    this.n0inv = 0 - inv;
    this.t = new StaticArray<u32>(k + 1);
    this.tmp = new StaticArray<u32>(k);
    this.one = new StaticArray<u32>(k);
    this.rr = new StaticArray<u32>(k);
    // R mod n and R^2 mod n by doubling 1 with modular reduction: 2·32k cheap steps, once per key.
    const x = new StaticArray<u32>(k);
    unchecked((x[0] = 1));
    for (let i = 0; i < k << 5; i++) this.add(x, x, x);
    copyInto(this.one, x);
    for (let i = 0; i < k << 5; i++) this.add(x, x, x);
    copyInto(this.rr, x);
  }

  /** out = a + b mod n, for a, b < n. out may alias a or b. */
  add(out: Limbs, a: Limbs, b: Limbs): void {
    const k = this.k;
    const po = changetype<usize>(out);
    const carry = addRaw(po, changetype<usize>(a), changetype<usize>(b), k);
    const pt = changetype<usize>(this.tmp);
    const borrow = subRaw(pt, po, changetype<usize>(this.n), k);
    // Keep a - n when the sum overflowed or a - n did not borrow.
    if (carry != 0 || borrow == 0) memory.copy(po, pt, (<usize>k) << 2);
  }

  /** out = a - b mod n, for a, b < n. */
  sub(out: Limbs, a: Limbs, b: Limbs): void {
    const k = this.k;
    const po = changetype<usize>(out);
    const borrow = subRaw(po, changetype<usize>(a), changetype<usize>(b), k);
    if (borrow != 0) addRaw(po, po, changetype<usize>(this.n), k);
  }

  /** out = a·b·R^-1 mod n, for a, b < n. out may alias a or b. */
  mul(out: Limbs, a: Limbs, b: Limbs): void {
    const k = <usize>this.k;
    const t = changetype<usize>(this.t);
    const pa = changetype<usize>(a);
    const pb = changetype<usize>(b);
    const pn = changetype<usize>(this.n);
    const n0inv = this.n0inv;
    const a0 = <u64>load<u32>(pa);
    const n0 = <u64>load<u32>(pn);
    memory.fill(t, 0, (k + 1) << 2);
    // One pass per word of b that adds a·b[i] and m·n together (two carry chains, since their sum can
    // exceed 64 bits) and shifts t down one word: t = (t + a·b[i] + m·n) / 2^32.
    for (let i: usize = 0; i < k; i++) {
      const bi = <u64>load<u32>(pb + (i << 2));
      let s1 = <u64>load<u32>(t) + a0 * bi;
      // m must be reduced mod 2^32: computed in a u32 local, since <u64>(…) would widen the product.
      const m32: u32 = <u32>s1 * n0inv;
      const m = <u64>m32;
      let c1 = s1 >> 32;
      let s2 = (s1 & 0xffffffff) + m * n0;
      let c2 = s2 >> 32;
      for (let j: usize = 1; j < k; j++) {
        const o = j << 2;
        s1 = <u64>load<u32>(t + o) + <u64>load<u32>(pa + o) * bi + c1;
        c1 = s1 >> 32;
        s2 = (s1 & 0xffffffff) + m * <u64>load<u32>(pn + o) + c2;
        c2 = s2 >> 32;
        store<u32>(t + o - 4, <u32>s2);
      }
      const top = <u64>load<u32>(t + (k << 2)) + c1 + c2;
      store<u32>(t + ((k - 1) << 2), <u32>top);
      store<u32>(t + (k << 2), <u32>(top >> 32));
    }
    // t < 2n: one conditional subtraction.
    const po = changetype<usize>(out);
    const borrow = subRaw(po, t, pn, <i32>k);
    if (borrow != 0 && load<u32>(t + (k << 2)) == 0) memory.copy(po, t, k << 2);
  }

  toMont(out: Limbs, a: Limbs): void {
    this.mul(out, a, this.rr);
  }

  fromMont(out: Limbs, a: Limbs): void {
    const one = new StaticArray<u32>(this.k);
    unchecked((one[0] = 1));
    this.mul(out, a, one);
  }

  /** out = base^exp in Montgomery form (base in Montgomery form, exp a plain number). */
  pow(out: Limbs, base: Limbs, exp: Limbs): void {
    const acc = new StaticArray<u32>(this.k);
    copyInto(acc, this.one);
    for (let i = bitLength(exp) - 1; i >= 0; i--) {
      this.mul(acc, acc, acc);
      if (bit(exp, i)) this.mul(acc, acc, base);
    }
    copyInto(out, acc);
  }
}
