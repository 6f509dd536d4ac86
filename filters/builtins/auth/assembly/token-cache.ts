// A bounded cache of verified tokens, shaped for the hit path and for the garbage collector. A hit
// hashes the token once and reads back what the filter needs without touching JSON: the validity
// window, the first unmet required claim and the claim header values, all worked out once when the
// token verified. Each entry is one string (the token, then its header values), so a collection marks
// one object per cached token; the rest lives in flat arrays. Only tokens that verified are cached;
// time checks still run on every hit, and an entry found past its exp is removed. Eviction is
// first-in-first-out over a ring of `capacity` slots; an open-addressing index finds a token's slot.

/** Separates the token and the values in an entry; claim header values never hold control characters. */
const SEPARATOR: string = '\u0000';
/** Stands for a claim the token does not have. */
const ABSENT: string = '\u0001';

/** What the filter needs of a verified token. */
export class Accepted {
  constructor(
    /** "exp" in seconds (i64.MAX_VALUE when absent), "nbf" (i64.MIN_VALUE when absent). */
    public exp: i64,
    public nbf: i64,
    /** Index of the first required claim the token does not satisfy, or -1. */
    public missing: i32,
    /** One value per forwarded claim, in configuration order; null when the token lacks the claim. */
    public values: Array<string | null>,
  ) {}
}

/** Whether n bytes at a and b are equal (memory.compare goes byte by byte in size-optimized builds). */
function sameBytes(a: usize, b: usize, n: usize): bool {
  let i: usize = 0;
  for (; i + 8 <= n; i += 8) if (load<u64>(a + i) != load<u64>(b + i)) return false;
  for (; i < n; i++) if (load<u8>(a + i) != load<u8>(b + i)) return false;
  return true;
}

function hashOf(s: string): u32 {
  const p = changetype<usize>(s);
  const n = (<usize>s.length) << 1;
  let h: u64 = 0x9e3779b97f4a7c15 ^ <u64>n;
  let i: usize = 0;
  for (; i + 8 <= n; i += 8) {
    h = (h ^ load<u64>(p + i)) * 0xff51afd7ed558ccd;
    h ^= h >> 32;
  }
  for (; i < n; i += 2) h = (h ^ <u64>load<u16>(p + i)) * 0xff51afd7ed558ccd;
  h ^= h >> 29;
  return <u32>h;
}

export class TokenCache {
  /** Ring slot → entry text ("" when free), and the entry's hash, times and missing claim. */
  private texts: StaticArray<string>;
  private hashes: StaticArray<u32>;
  private exps: StaticArray<i64>;
  private nbfs: StaticArray<i64>;
  private missing: StaticArray<i32>;
  /** Open addressing, linear probing: slot + 1, or 0 for an empty position. */
  private index: StaticArray<i32>;
  private mask: u32 = 0;
  private next: i32 = 0;
  private count: i32 = 0;

  constructor(public readonly capacity: i32) {
    this.texts = new StaticArray<string>(capacity);
    this.hashes = new StaticArray<u32>(capacity);
    this.exps = new StaticArray<i64>(capacity);
    this.nbfs = new StaticArray<i64>(capacity);
    this.missing = new StaticArray<i32>(capacity);
    let size: i32 = 1;
    while (size < capacity * 2) size <<= 1;
    this.index = new StaticArray<i32>(capacity > 0 ? size : 0);
    this.mask = <u32>size - 1;
    for (let i = 0; i < capacity; i++) this.texts[i] = '';
  }

  get size(): i32 {
    return this.count;
  }

  /** The entry's position in the index, or -1. */
  private position(token: string, hash: u32): i32 {
    if (this.capacity == 0) return -1;
    const len = token.length;
    let at = hash & this.mask;
    let slot = unchecked(this.index[at]) - 1; // masked: always in range
    while (slot >= 0) {
      if (this.hashes[slot] == hash) {
        const text = this.texts[slot];
        if (
          text.length > len &&
          text.charCodeAt(len) == 0 &&
          sameBytes(changetype<usize>(text), changetype<usize>(token), (<usize>len) << 1)
        ) {
          return <i32>at;
        }
      }
      at = (at + 1) & this.mask;
      slot = unchecked(this.index[at]) - 1;
    }
    return -1;
  }

  /** Filled in by get(): a hit allocates only the header values it returns. */
  private hit: Accepted = new Accepted(0, 0, -1, []);

  /** The cached verdict for `token` (valid until the next get), or null. */
  get(token: string): Accepted | null {
    const at = this.position(token, hashOf(token));
    if (at < 0) return null;
    const slot = this.index[at] - 1;
    const text = this.texts[slot];
    const values = this.hit.values;
    values.length = 0;
    let from = token.length + 1;
    while (from <= text.length) {
      let end = text.indexOf(SEPARATOR, from);
      if (end < 0) end = text.length;
      const v = text.substring(from, end);
      values.push(v == ABSENT ? null : v);
      from = end + 1;
    }
    this.hit.exp = this.exps[slot];
    this.hit.nbf = this.nbfs[slot];
    this.hit.missing = this.missing[slot];
    return this.hit;
  }

  put(token: string, a: Accepted): void {
    const hash = hashOf(token);
    if (this.capacity == 0 || this.position(token, hash) >= 0) return;
    const slot = this.next;
    if (this.texts[slot].length > 0) this.unlink(slot);
    this.next = (slot + 1) % this.capacity;
    let text = token;
    for (let i = 0; i < a.values.length; i++) {
      const v = a.values[i];
      text += SEPARATOR + (v != null ? v : ABSENT);
    }
    this.texts[slot] = text;
    this.hashes[slot] = hash;
    this.exps[slot] = a.exp;
    this.nbfs[slot] = a.nbf;
    this.missing[slot] = a.missing;
    let at = hash & this.mask;
    while (this.index[at] != 0) at = (at + 1) & this.mask;
    this.index[at] = slot + 1;
    this.count++;
  }

  /** Forgets a token (expired): its ring slot is reused in turn. */
  remove(token: string): void {
    const at = this.position(token, hashOf(token));
    if (at >= 0) this.unlink(this.index[at] - 1);
  }

  clear(): void {
    for (let i = 0; i < this.capacity; i++) this.texts[i] = '';
    for (let i = 0; i < this.index.length; i++) this.index[i] = 0;
    this.next = 0;
    this.count = 0;
  }

  /** Frees a used slot: removes it from the index by backward shift (no tombstones). */
  private unlink(slot: i32): void {
    let i = this.hashes[slot] & this.mask;
    while (this.index[i] != slot + 1) i = (i + 1) & this.mask;
    let j = i;
    for (;;) {
      j = (j + 1) & this.mask;
      const other = this.index[j];
      if (other == 0) break;
      const home = this.hashes[other - 1] & this.mask;
      // Move the entry at j back to the hole at i unless its home lies cyclically in (i, j].
      const between = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!between) {
        this.index[i] = other;
        i = j;
      }
    }
    this.index[i] = 0;
    this.texts[slot] = '';
    this.count--;
  }
}
