// Entry point of the rate-limit core test module: the real configuration parser and bucket/slot code
// over an in-memory shared store with the host's CAS semantics, so tests can drive a clock and stage
// a CAS race between two workers deterministically. Byte ABI as in crypto/assembly/test-abi.ts.
import '../../crypto/assembly/abort';
import { inputText, setOutputText } from '../../crypto/assembly/test-abi';
import { Take } from './bucket';
import { parseRateLimitConfig, RateLimitConfig } from './config';
import {
  casConflicts,
  DescriptorHash,
  RuleSlots,
  SharedStore,
  SLOT_BYTES,
  SlotKey,
  StoredSlot,
  takeToken,
} from './slots';

export { input, outputLen, outputPtr } from '../../crypto/assembly/test-abi';

let config: RateLimitConfig | null = null;

class StoredValue {
  constructor(
    public value: ArrayBuffer,
    public cas: u32,
  ) {}
}

/** Shared data as Envoy keeps it: each write bumps the key's CAS token; a stale token is refused. */
class MemoryStore extends SharedStore {
  values: Map<string, StoredValue> = new Map<string, StoredValue>();
  nextCas: u32 = 1;
  /** When set, the next write first lets "another worker" take a token for this descriptor. */
  raceDescriptor: string | null = null;
  raceRule: i32 = 0;
  raceNow: i64 = 0;

  get(key: SlotKey, out: StoredSlot): bool {
    const k = key.toString();
    if (!this.values.has(k)) {
      out.missing();
      return false;
    }
    const v = this.values.get(k);
    out.read(changetype<usize>(v.value), <usize>v.value.byteLength, v.cas);
    return true;
  }

  set(key: SlotKey, value: usize, cas: u32): bool {
    // Envoy copies the bytes: the filter may reuse its buffer (the racing worker below does).
    const copy = new ArrayBuffer(<i32>SLOT_BYTES);
    memory.copy(changetype<usize>(copy), value, SLOT_BYTES);
    const k = key.toString();
    if (this.raceDescriptor != null) {
      const d = this.raceDescriptor!;
      this.raceDescriptor = null;
      take(this.raceRule, d, this.raceNow, racer);
    }
    if (cas != 0 && this.values.has(k) && this.values.get(k).cas != cas) return false;
    this.values.set(k, new StoredValue(copy, this.nextCas++));
    return true;
  }
}

const store = new MemoryStore();
/** A worker's own keys, read buffers and outcome, as each VM has. */
class Worker {
  slots: RuleSlots[] = [];
  hash: DescriptorHash = new DescriptorHash();
  take: Take = new Take();
}
const main = new Worker();
const racer = new Worker();

/** Input 0: configuration JSON. 1 when accepted, else 0 with the reason as output. */
export function configure(): i32 {
  const r = parseRateLimitConfig(inputText(0));
  config = r.config;
  setOutputText(r.error);
  store.values.clear();
  main.slots = [];
  racer.slots = [];
  if (r.config != null) {
    const c = r.config!;
    for (let i = 0; i < c.rules.length; i++) {
      main.slots.push(c.rules[i].slots);
      racer.slots.push(new RuleSlots(c.rules[i].keyPrefix, c.maxKeys));
    }
  }
  return r.config != null ? 1 : 0;
}

function take(ruleIndex: i32, descriptor: string, nowMs: i64, worker: Worker): string {
  const rule = config!.rules[ruleIndex];
  worker.hash.reset();
  worker.hash.string(descriptor);
  const t = takeToken(store, worker.slots[ruleIndex], worker.hash, rule.limit, nowMs, worker.take);
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
  setOutputText(take(ruleIndex, inputText(0), nowMs, main));
}

/** Like takeOne, but another worker takes a token for input 1 between this one's read and write. */
export function takeRacing(ruleIndex: i32, nowMs: i64): void {
  store.raceDescriptor = inputText(1);
  store.raceRule = ruleIndex;
  store.raceNow = nowMs;
  setOutputText(take(ruleIndex, inputText(0), nowMs, main));
}

export function conflicts(): i64 {
  return <i64>casConflicts;
}

/** Number of shared-data keys in use (bounded by rules × maxKeys). */
export function keyCount(): i32 {
  return store.values.size;
}
