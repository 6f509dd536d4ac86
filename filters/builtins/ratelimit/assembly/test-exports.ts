// Entry point of the rate-limit core test module: the real configuration parser and bucket/slot code
// over an in-memory shared store with the host's CAS semantics, so tests can drive a clock and stage
// a CAS race between two workers deterministically. Byte ABI as in crypto/assembly/test-abi.ts.
import '../../crypto/assembly/abort';
import { inputText, setOutputText } from '../../crypto/assembly/test-abi';
import { parseRateLimitConfig, RateLimitConfig } from './config';
import { casConflicts, SharedStore, StoredValue, takeToken } from './slots';

export { input, outputLen, outputPtr } from '../../crypto/assembly/test-abi';

let config: RateLimitConfig | null = null;

/** Shared data as Envoy keeps it: each write bumps the key's CAS token; a stale token is refused. */
class MemoryStore extends SharedStore {
  values: Map<string, StoredValue> = new Map<string, StoredValue>();
  nextCas: u32 = 1;
  /** When set, the next write first lets "another worker" take a token for this descriptor. */
  raceDescriptor: string | null = null;
  raceRule: i32 = 0;
  raceNow: i64 = 0;

  get(key: string): StoredValue | null {
    return this.values.has(key) ? this.values.get(key) : null;
  }

  set(key: string, value: ArrayBuffer, cas: u32): bool {
    if (this.raceDescriptor != null) {
      const d = this.raceDescriptor!;
      this.raceDescriptor = null;
      take(this.raceRule, d, this.raceNow);
    }
    if (cas != 0 && this.values.has(key) && this.values.get(key).cas != cas) return false;
    // Envoy copies the bytes: the filter may reuse its buffer.
    this.values.set(key, new StoredValue(value.slice(0), this.nextCas++));
    return true;
  }
}

const store = new MemoryStore();

/** Input 0: configuration JSON. 1 when accepted, else 0 with the reason as output. */
export function configure(): i32 {
  const r = parseRateLimitConfig(inputText(0));
  config = r.config;
  setOutputText(r.error);
  store.values.clear();
  return r.config != null ? 1 : 0;
}

function take(ruleIndex: i32, descriptor: string, nowMs: i64): string {
  const rule = config!.rules[ruleIndex];
  const t = takeToken(store, rule.keyPrefix, config!.maxKeys, descriptor, rule.limit, nowMs);
  return (
    '{"allowed":' +
    (t.allowed ? 'true' : 'false') +
    ',"remaining":' +
    t.remaining.toString() +
    ',"retryAfterMs":' +
    t.retryAfterMs.toString() +
    ',"resetMs":' +
    t.resetMs.toString() +
    '}'
  );
}

/** Input 0: descriptor. Output: the Take as JSON. */
export function takeOne(ruleIndex: i32, nowMs: i64): void {
  setOutputText(take(ruleIndex, inputText(0), nowMs));
}

/** Like takeOne, but another worker takes a token for input 1 between this one's read and write. */
export function takeRacing(ruleIndex: i32, nowMs: i64): void {
  store.raceDescriptor = inputText(1);
  store.raceRule = ruleIndex;
  store.raceNow = nowMs;
  setOutputText(take(ruleIndex, inputText(0), nowMs));
}

export function conflicts(): i64 {
  return <i64>casConflicts;
}

/** Number of shared-data keys in use (bounded by rules × maxKeys). */
export function keyCount(): i32 {
  return store.values.size;
}
