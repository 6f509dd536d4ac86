// Buckets in shared data, shared by every worker of an Envoy (one VM per worker, one shared-data map
// per VM id). Memory is bounded: each rule owns `slots` keys, and a descriptor lives in one of two
// slots chosen by hashing (two-choice hashing). A slot whose bucket has refilled completely holds no
// information, so a new descriptor may take it: that is how stale keys expire without a sweeper.
// Updates are compare-and-swap: read (value, cas), compute, write with cas, retry on a mismatch.
// This runs on every request, so it works on bytes in buffers made at configuration time: keys,
// slot values and descriptor hashes allocate nothing per request.
import { Limit, Take, take } from './bucket';

/**
 * A slot's content: whose bucket it is (a 64-bit hash of the descriptor: two independent 32-bit
 * FNV-1a hashes, so a false match needs both to collide) and the bucket. 24 bytes: f64 tokens,
 * i64 ms, u64 owner.
 */
export const SLOT_BYTES: usize = 24;

/** What reading a slot's key found (filled in place by SharedStore.get). */
export class StoredSlot {
  /** The key exists; then `cas` is its token. */
  found: bool = false;
  cas: u32 = 0;
  /** The value is a slot (SLOT_BYTES long); then the fields below hold it. */
  isSlot: bool = false;
  owner: u64 = 0;
  tokens: f64 = 0;
  updatedMs: i64 = 0;

  /** Records a found value of `size` bytes at `ptr`. */
  read(ptr: usize, size: usize, cas: u32): void {
    this.found = true;
    this.cas = cas;
    this.isSlot = size == SLOT_BYTES;
    if (!this.isSlot) return;
    this.tokens = load<f64>(ptr);
    this.updatedMs = load<i64>(ptr, 8);
    this.owner = load<u64>(ptr, 16);
  }

  missing(): void {
    this.found = false;
    this.cas = 0;
    this.isSlot = false;
  }
}

/** A shared-data key as UTF-8 bytes: the rule's prefix, then a slot number written in place. */
export class SlotKey {
  private readonly bytes: StaticArray<u8>;
  private readonly prefixLen: i32;
  /** The key's length in bytes (prefix + digits of the last slot set). */
  len: i32 = 0;

  constructor(prefix: string) {
    const prefixLen = String.UTF8.byteLength(prefix, false);
    this.prefixLen = prefixLen;
    this.bytes = new StaticArray<u8>(prefixLen + 10);
    String.UTF8.encodeUnsafe(changetype<usize>(prefix), prefix.length, this.ptr, false);
  }

  get ptr(): usize {
    return changetype<usize>(this.bytes);
  }

  at(slot: u32): SlotKey {
    this.len = this.prefixLen + <i32>writeDecimal(this.ptr + <usize>this.prefixLen, slot);
    return this;
  }

  toString(): string {
    return String.UTF8.decodeUnsafe(this.ptr, <usize>this.len, false);
  }
}

/** The shared-data operations the limiter needs; the filter passes the host's, tests a simulated one. */
export abstract class SharedStore {
  /** Reads the key into `out`; false (and out.found false) when the key was never written. */
  abstract get(key: SlotKey, out: StoredSlot): bool;
  /** Writes SLOT_BYTES from `value`; false on a CAS mismatch (another worker wrote since the read). */
  abstract set(key: SlotKey, value: usize, cas: u32): bool;
}

/** Writes `v` in decimal at `ptr`; returns the number of digits. */
export function writeDecimal(ptr: usize, v: u64): usize {
  let n: usize = 1;
  for (let t = v; t >= 10; t /= 10) n++;
  let p = ptr + n;
  do {
    store<u8>(--p, <u8>(48 + (v % 10)));
    v /= 10;
  } while (v != 0);
  return n;
}

const FNV_BASIS: u32 = 0x811c9dc5;
const FNV_PRIME: u32 = 0x01000193;
/** Seed of the second hash, so the two slot choices are independent. */
const SEED2: u32 = 0x9e3779b9;

/**
 * Two FNV-1a hashes of a descriptor, fed byte by byte (UTF-8): the parts come straight from the
 * host's buffers, so no descriptor string is ever built.
 */
export class DescriptorHash {
  h1: u32 = FNV_BASIS;
  h2: u32 = FNV_BASIS ^ SEED2;
  private scratch: usize = 0;
  private scratchSize: usize = 0;

  reset(): void {
    this.h1 = FNV_BASIS;
    this.h2 = FNV_BASIS ^ SEED2;
  }

  bytes(ptr: usize, len: usize): void {
    let h1 = this.h1;
    let h2 = this.h2;
    for (let i: usize = 0; i < len; i++) {
      const b = <u32>load<u8>(ptr + i);
      h1 = (h1 ^ b) * FNV_PRIME;
      h2 = (h2 ^ b) * FNV_PRIME;
    }
    this.h1 = h1;
    this.h2 = h2;
  }

  string(s: string): void {
    const size = <usize>String.UTF8.byteLength(s, false);
    if (size > this.scratchSize) {
      if (this.scratch != 0) heap.free(this.scratch);
      this.scratch = heap.alloc(size);
      this.scratchSize = size;
    }
    String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, this.scratch, false);
    this.bytes(this.scratch, size);
  }

  /** A part of a several-part descriptor: "<byte length>:<bytes>", so no value can forge another combination. */
  lengthPrefixed(ptr: usize, len: usize): void {
    const digits = memory.data(24);
    this.bytes(digits, writeDecimal(digits, <u64>len));
    store<u8>(digits, 58); // ':'
    this.bytes(digits, 1);
    this.bytes(ptr, len);
  }
}

/** MurmurHash3's finalizer: decorrelates the second hash from the first. */
function mix(h: u32): u32 {
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  return h ^ (h >> 16);
}

export const MAX_CAS_RETRIES = 8;

/** CAS attempts that lost to another worker (exported as a metric by the filter). */
export let casConflicts: u64 = 0;

/** A rule's two slot keys and read buffers, made once per rule. */
export class RuleSlots {
  readonly first: SlotKey;
  readonly second: SlotKey;
  readonly read1: StoredSlot = new StoredSlot();
  readonly read2: StoredSlot = new StoredSlot();

  constructor(
    keyPrefix: string,
    /** How many slots the rule has (maxKeys). */
    public count: u32,
  ) {
    this.first = new SlotKey(keyPrefix);
    this.second = new SlotKey(keyPrefix);
  }
}

// The host copies what it is given, so one buffer serves every write.
const writeBuffer = memory.data(<i32>SLOT_BYTES);

/**
 * Takes one token for the descriptor hashed in `d` from the rule's buckets, into `out`. Fails open
 * (allowed) if CAS keeps losing.
 */
export function takeToken(
  shared: SharedStore,
  slots: RuleSlots,
  d: DescriptorHash,
  limit: Limit,
  nowMs: i64,
  out: Take,
): Take {
  const h1 = d.h1;
  const h2 = mix(d.h2);
  const owner = ((<u64>h1) << 32) | <u64>h2;
  const i1 = h1 % slots.count;
  const i2 = h2 % slots.count;
  const k1 = slots.first.at(i1);
  const k2 = slots.second.at(i2);
  const r1 = slots.read1;
  const r2 = slots.read2;
  for (let attempt = 0; attempt < MAX_CAS_RETRIES; attempt++) {
    shared.get(k1, r1);
    let key = k1;
    let current = r1;
    // Whether to continue the bucket read (else start from a full one).
    let keep = r1.isSlot;
    if (r1.isSlot && r1.owner != owner) {
      const other = i2 != i1;
      if (other) shared.get(k2, r2);
      else r2.missing();
      const idle1 = limit.isIdle(r1.tokens, r1.updatedMs, nowMs);
      keep = false;
      if (other && (!r2.isSlot || r2.owner == owner)) {
        key = k2;
        current = r2;
        keep = r2.isSlot;
      } else if (!idle1 && r2.isSlot && limit.isIdle(r2.tokens, r2.updatedMs, nowMs)) {
        // Both taken by others: reuse an idle one (slot 1 first); if both are busy, evict the one
        // with more tokens left (the less active client), which starts again from a full bucket.
        key = k2;
        current = r2;
      } else if (
        !idle1 &&
        r2.isSlot &&
        limit.tokensAt(r2.tokens, r2.updatedMs, nowMs) > limit.tokensAt(r1.tokens, r1.updatedMs, nowMs)
      ) {
        key = k2;
        current = r2;
      }
    }
    if (keep) take(limit, current.tokens, current.updatedMs, nowMs, out);
    else take(limit, limit.burst, nowMs, nowMs, out);
    store<f64>(writeBuffer, out.tokens);
    store<i64>(writeBuffer, out.updatedMs, 8);
    store<u64>(writeBuffer, owner, 16);
    if (shared.set(key, writeBuffer, current.found ? current.cas : 0)) return out;
    casConflicts++;
  }
  // Losing every CAS race means heavy contention on this key: let the request through rather than
  // fail closed on a shared-data race (the next requests will see the updated counts).
  return out.failOpen(limit, nowMs);
}
