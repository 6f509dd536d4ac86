// State Envoy keeps outside any one VM, shared by every worker running the plugin: shared data
// with compare-and-swap, shared queues, metrics, and (for tests) the clock.

import { createHash, randomFillSync } from 'node:crypto';
import type { MetricKind } from './abi.ts';
import { WasmResult } from './abi.ts';

type Result = (typeof WasmResult)[keyof typeof WasmResult];

type Entry = { value: Uint8Array; cas: number };

/** Shared data: a key-value store with a CAS token per key (Envoy's SharedData). */
export class SharedData {
  private readonly entries = new Map<string, Entry>();
  private nextCas = 1;

  /** A copy of the value and its CAS token. */
  get(key: string): Entry | undefined {
    const e = this.entries.get(key);
    return e && { value: e.value.slice(), cas: e.cas };
  }

  /** The stored entry itself, for the host to copy into a module: do not keep it. */
  entry(key: string): Readonly<Entry> | undefined {
    return this.entries.get(key);
  }

  /** cas 0 always writes; another cas must match the key's current token (a missing key has none). */
  set(key: string, value: Uint8Array, cas: number): Result {
    return this.setFrom(key, value, 0, value.length, cas);
  }

  /** set with the value copied from source[start, end) (module memory, say). */
  setFrom(key: string, source: Uint8Array, start: number, end: number, cas: number): Result {
    const current = this.entries.get(key);
    if (cas !== 0 && (current === undefined || current.cas !== cas)) return WasmResult.CasMismatch;
    if (current !== undefined && current.value.length === end - start) {
      // Rewritten in place (get hands out copies): a counter updated on every request makes no garbage.
      const value = current.value;
      if (value.length > 64) value.set(source.subarray(start, end));
      else for (let i = start; i < end; i++) value[i - start] = source[i]!;
      current.cas = this.nextCas++;
    } else {
      this.entries.set(key, { value: source.slice(start, end), cas: this.nextCas++ });
    }
    return WasmResult.Ok;
  }

  /** The value as text, for assertions. */
  text(key: string): string | undefined {
    const e = this.entries.get(key);
    return e ? new TextDecoder().decode(e.value) : undefined;
  }
}

export type QueueOwner = { onQueueReady(token: number): void };

/** Shared queues: registered by one VM (its owner gets onQueueReady), fed by any. */
export class SharedQueues {
  private readonly byName = new Map<string, number>();
  private readonly queues = new Map<number, { items: Uint8Array[]; owner: QueueOwner }>();
  private nextToken = 1;

  register(vmId: string, name: string, owner: QueueOwner): number {
    const key = `${vmId}\0${name}`;
    const existing = this.byName.get(key);
    if (existing !== undefined) {
      this.queues.get(existing)!.owner = owner;
      return existing;
    }
    const token = this.nextToken++;
    this.byName.set(key, token);
    this.queues.set(token, { items: [], owner });
    return token;
  }

  resolve(vmId: string, name: string): number | undefined {
    return this.byName.get(`${vmId}\0${name}`);
  }

  enqueue(token: number, data: Uint8Array): QueueOwner | undefined {
    const q = this.queues.get(token);
    if (!q) return undefined;
    q.items.push(data.slice());
    return q.owner;
  }

  dequeue(token: number): Uint8Array | undefined | null {
    const q = this.queues.get(token);
    if (!q) return null;
    return q.items.shift();
  }
}

export type Metric = { name: string; kind: MetricKind; value: number; values: number[] };

/** Metrics defined by the filter, by name (Envoy shows them as wasmcustom.<name>). */
export class Metrics {
  private readonly byId: Metric[] = [];
  private readonly ids = new Map<string, number>();

  define(kind: MetricKind, name: string): number {
    const key = `${kind}\0${name}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.byId.length + 1;
      this.byId.push({ name, kind, value: 0, values: [] });
      this.ids.set(key, id);
    }
    return id;
  }

  byIdOrUndefined(id: number): Metric | undefined {
    return this.byId[id - 1];
  }

  get(name: string): Metric | undefined {
    return this.byId.find((m) => m.name === name);
  }

  all(): Metric[] {
    return [...this.byId];
  }
}

/** The host's clock: starts at a fixed instant and moves only when the test says. */
export class TestClock {
  private nowNs: bigint;

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.nowNs = BigInt(startMs) * 1_000_000n;
  }

  nowNanoseconds(): bigint {
    return this.nowNs;
  }

  nowMilliseconds(): number {
    return Number(this.nowNs / 1_000_000n);
  }

  /** Moves time forward; FilterHost.advance also fires the ticks that fall due. */
  advanceBy(ms: number): void {
    this.nowNs += BigInt(Math.round(ms * 1_000_000));
  }
}

/**
 * What WASI random_get answers. Unseeded: the OS generator, as Envoy. Seeded: a deterministic stream
 * (SHA-256 of seed and block counter), shared by every worker in call order, so a test can pin the ids
 * a filter generates.
 */
export class TestRandom {
  private readonly seed: string | undefined;
  private counter = 0;
  private pool = new Uint8Array(0);

  constructor(seed?: number | string) {
    this.seed = seed === undefined ? undefined : String(seed);
  }

  get seeded(): boolean {
    return this.seed !== undefined;
  }

  fill(target: Uint8Array): void {
    if (this.seed === undefined) {
      randomFillSync(target);
      return;
    }
    let done = 0;
    while (done < target.length) {
      if (this.pool.length === 0) {
        this.pool = new Uint8Array(
          createHash('sha256')
            .update(`${this.seed}:${this.counter++}`)
            .digest(),
        );
      }
      const take = Math.min(this.pool.length, target.length - done);
      target.set(this.pool.subarray(0, take), done);
      this.pool = this.pool.subarray(take);
      done += take;
    }
  }
}
