// Buckets in shared data, shared by every worker of an Envoy (one VM per worker, one shared-data map
// per VM id). Memory is bounded: each rule owns `slots` keys, and a descriptor lives in one of two
// slots chosen by hashing (two-choice hashing). A slot whose bucket has refilled completely holds no
// information, so a new descriptor may take it: that is how stale keys expire without a sweeper.
// Updates are compare-and-swap: read (value, cas), compute, write with cas, retry on a mismatch.
import { Bucket, Limit, Take, take } from './bucket';

/** The shared-data operations the limiter needs; the filter passes the host's, tests a simulated one. */
export abstract class SharedStore {
  /** The value and its CAS token, or null when the key was never written. */
  abstract get(key: string): StoredValue | null;
  /** false on a CAS mismatch (another worker wrote since the read). */
  abstract set(key: string, value: ArrayBuffer, cas: u32): bool;
}

export class StoredValue {
  constructor(
    public value: ArrayBuffer,
    public cas: u32,
  ) {}
}

/**
 * A slot's content: whose bucket it is (a 64-bit hash of the descriptor: two independent 32-bit
 * FNV-1a hashes, so a false match needs both to collide) and the bucket. 24 bytes: f64 tokens,
 * i64 ms, u64 owner. Fixed size and no strings, so reading and writing a slot allocates little.
 */
class Slot {
  constructor(
    public owner: u64,
    public bucket: Bucket,
  ) {}

  static decode(v: ArrayBuffer): Slot | null {
    if (v.byteLength != SLOT_BYTES) return null;
    const p = changetype<usize>(v);
    return new Slot(load<u64>(p, 16), new Bucket(load<f64>(p), load<i64>(p, 8)));
  }
}

const SLOT_BYTES = 24;
// The host copies what it is given, so one buffer serves every write.
const scratch = new ArrayBuffer(SLOT_BYTES);

function encode(owner: u64, b: Bucket): ArrayBuffer {
  const p = changetype<usize>(scratch);
  store<f64>(p, b.tokens);
  store<i64>(p, b.updatedMs, 8);
  store<u64>(p, owner, 16);
  return scratch;
}

/** FNV-1a over the UTF-16 code units, with a seed so the two slot choices are independent. */
export function fnv1a(s: string, seed: u32): u32 {
  let h: u32 = 0x811c9dc5 ^ seed;
  for (let i = 0; i < s.length; i++) {
    h ^= <u32>s.charCodeAt(i);
    h *= 0x01000193;
  }
  return h;
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

/** Takes one token for `descriptor` from the rule's buckets. Fails open (allowed) if CAS keeps losing. */
export function takeToken(
  shared: SharedStore,
  prefix: string,
  slots: u32,
  descriptor: string,
  limit: Limit,
  nowMs: i64,
): Take {
  const h1 = fnv1a(descriptor, 0);
  const h2 = mix(fnv1a(descriptor, 0x9e3779b9));
  const owner = ((<u64>h1) << 32) | <u64>h2;
  const k1 = prefix + (h1 % slots).toString();
  const k2 = prefix + (h2 % slots).toString();
  for (let attempt = 0; attempt < MAX_CAS_RETRIES; attempt++) {
    const v1 = shared.get(k1);
    const s1 = v1 != null ? Slot.decode(v1.value) : null;
    let key = k1;
    let current: StoredValue | null = v1;
    let slot: Slot | null = s1;
    if (s1 != null && s1.owner != owner) {
      const v2 = k2 != k1 ? shared.get(k2) : null;
      const s2 = v2 != null ? Slot.decode(v2.value) : null;
      if (k2 != k1 && (s2 == null || s2.owner == owner)) {
        key = k2;
        current = v2;
        slot = s2;
      } else if (!s1.bucket.isIdle(limit, nowMs) && s2 != null && s2.bucket.isIdle(limit, nowMs)) {
        // Both taken by others: reuse an idle one (slot 1 first); if both are busy, evict the one
        // with more tokens left (the less active client), which starts again from a full bucket.
        key = k2;
        current = v2;
        slot = null;
      } else if (
        !s1.bucket.isIdle(limit, nowMs) &&
        s2 != null &&
        s2.bucket.tokensAt(limit, nowMs) > s1.bucket.tokensAt(limit, nowMs)
      ) {
        key = k2;
        current = v2;
        slot = null;
      } else {
        slot = null;
      }
    }
    const bucket = slot != null ? slot.bucket : Bucket.full(limit, nowMs);
    const result = take(bucket, limit, nowMs);
    if (shared.set(key, encode(owner, result.bucket), current != null ? current.cas : 0)) return result;
    casConflicts++;
  }
  // Losing every CAS race means heavy contention on this key: let the request through rather than
  // fail closed on a shared-data race (the next requests will see the updated counts).
  return new Take(true, Bucket.full(limit, nowMs), 0, 0, 0);
}
