// The proxy-wasm test host: loads a real .wasm in Node's WebAssembly (V8, Envoy's default runtime)
// with Envoy's semantics, so a filter can be tested without Envoy:
//
//   const host = await FilterHost.load('build/header-rewrite.wasm', { configuration: { ... } });
//   const stream = host.newStream();
//   stream.sendRequestHeaders({ ':method': 'GET', ':path': '/', ':authority': 'x' });
//   assert.equal(stream.request.headers.get('x-team'), 'payments');
//   assert.equal(host.metric('header_rewrite.requests'), 1);
import { readFile } from 'node:fs/promises';
import type { LogLevelName } from './abi.ts';
import { describeUnsupportedImport, unsupportedImports } from './abi.ts';
import type { HostState, LogEntry, Profile } from './host-state.ts';
import type { HttpCall } from './http-call.ts';
import type { Metric } from './shared.ts';
import { Metrics, SharedData, SharedQueues, TestClock, TestRandom } from './shared.ts';
import type { HttpStream } from './stream.ts';
import type { WasmModule } from './wasm-types.ts';
import { WebAssemblyApi } from './wasm-types.ts';
import { Worker } from './worker.ts';

export type { HeaderPairs, HeadersInit } from './headers.ts';
export { HeaderList } from './headers.ts';
export type { LogEntry, Profile } from './host-state.ts';
export type { HttpCallAnswer } from './http-call.ts';
export { HttpCall } from './http-call.ts';
export type { Metric } from './shared.ts';
export { Metrics, SharedData, TestClock, TestRandom } from './shared.ts';
export type { Direction, LocalResponse } from './stream.ts';
export { HttpStream } from './stream.ts';
export { WasmTrap, Worker } from './worker.ts';

/** A property value: text, raw bytes, or an integer (encoded as Envoy does: 8 bytes little-endian). */
export type PropertyValue = string | Uint8Array | number | bigint;

export type FilterHostOptions = {
  /** The plugin configuration: a string as is, anything else as JSON. */
  configuration?: unknown;
  vmConfiguration?: string;
  /** The root_id of the plugin (property plugin_root_id). Default "". */
  rootId?: string;
  vmId?: string;
  pluginName?: string;
  /** Simulated Envoy workers: each its own VM, sharing shared data, queues and metrics. Default 1. */
  workers?: number;
  /** Properties by dotted path ("request.id", "node.metadata.team"). */
  properties?: Record<string, PropertyValue>;
  /** The clusters httpCall may name; others get BadArgument as in Envoy. Default: any. */
  clusters?: string[];
  /** Envoy's allow_on_headers_stop_iteration. Default false. */
  allowOnHeadersStopIteration?: boolean;
  /** Level reported to the module by proxy_get_log_level. Every log is captured regardless. */
  logLevel?: LogLevelName;
  clock?: TestClock;
  /**
   * Seeds what WASI random_get returns (randomBytes, randomId, uuid4 in the SDK): the same seed gives
   * the same bytes in the same call order, so a test can pin a generated id. Default: unseeded, from
   * the OS generator, as in Envoy.
   */
  randomSeed?: number | string;
  /** Also print the module's logs to stderr. */
  echoLogs?: boolean;
  /** Measure time inside the module vs inside host functions (host.profile); costs some speed. */
  profile?: boolean;
};

/** Thrown when a module cannot load in Envoy: imports Envoy lacks, or exports Envoy needs missing. */
export class ModuleRejected extends Error {}

function propertyBytes(value: PropertyValue): Uint8Array {
  if (typeof value === 'string') return new TextEncoder().encode(value);
  if (value instanceof Uint8Array) return value;
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt(value), true);
  return b;
}

function configurationBytes(configuration: unknown): Uint8Array {
  if (configuration === undefined) return new Uint8Array();
  if (configuration instanceof Uint8Array) return configuration;
  const text = typeof configuration === 'string' ? configuration : JSON.stringify(configuration);
  return new TextEncoder().encode(text);
}

/** Checks a compiled module against what Envoy links and requires; throws ModuleRejected. */
export function checkModule(module: WasmModule): void {
  const bad = unsupportedImports(WebAssemblyApi.Module.imports(module));
  if (bad.length > 0) {
    throw new ModuleRejected(
      `the module imports what Envoy does not provide: ${bad.map(describeUnsupportedImport).join('; ')}`,
    );
  }
  const exports = new Set(WebAssemblyApi.Module.exports(module).map((e) => e.name));
  const abi = ['proxy_abi_version_0_2_1', 'proxy_abi_version_0_2_0', 'proxy_abi_version_0_1_0'].find((n) =>
    exports.has(n),
  );
  const missing: string[] = [];
  if (!abi) missing.push('proxy_abi_version_0_2_1');
  for (const name of ['proxy_on_memory_allocate', 'proxy_on_context_create', 'memory']) {
    if (!exports.has(name)) missing.push(name);
  }
  if (missing.length > 0) throw new ModuleRejected(`the module does not export ${missing.join(', ')}`);
}

export class FilterHost {
  readonly workers: Worker[] = [];
  private readonly state: HostState;

  private constructor(state: HostState) {
    this.state = state;
  }

  /** Compiles, checks and starts the module on every worker (vm_start, then configure). */
  static async load(wasm: string | Uint8Array, options: FilterHostOptions = {}): Promise<FilterHost> {
    const bytes = typeof wasm === 'string' ? new Uint8Array(await readFile(wasm)) : wasm;
    const module = await WebAssemblyApi.compile(bytes);
    checkModule(module);
    const properties = new Map<string, Uint8Array>();
    for (const [k, v] of Object.entries(options.properties ?? {})) properties.set(k, propertyBytes(v));
    const state: HostState = {
      profile: options.profile ? { inExportsNs: 0, inImportsNs: 0 } : undefined,
      logs: [],
      logLevel: options.logLevel ?? 'trace',
      echoLogs: options.echoLogs ?? false,
      clock: options.clock ?? new TestClock(),
      random: new TestRandom(options.randomSeed),
      sharedData: new SharedData(),
      queues: new SharedQueues(),
      metrics: new Metrics(),
      httpCalls: [],
      properties,
      clusters: options.clusters,
      allowOnHeadersStopIteration: options.allowOnHeadersStopIteration ?? false,
      rootId: options.rootId ?? '',
      vmId: options.vmId ?? '',
      pluginName: options.pluginName ?? 'test-plugin',
    };
    const host = new FilterHost(state);
    const vmConfiguration = configurationBytes(options.vmConfiguration);
    const pluginConfiguration = configurationBytes(options.configuration);
    for (let i = 0; i < (options.workers ?? 1); i++) {
      const worker = new Worker(i, module, state);
      host.workers.push(worker);
      worker.start(vmConfiguration, pluginConfiguration);
    }
    return host;
  }

  /** Every worker accepted its configuration (proxy_on_configure returned true). */
  get configured(): boolean {
    return this.workers.every((w) => w.configured && !w.failure);
  }

  /** Sends a new configuration to every worker; true when all accept it. */
  reconfigure(configuration: unknown): boolean {
    const bytes = configurationBytes(configuration);
    return this.workers.map((w) => w.configure(bytes)).every(Boolean);
  }

  /** A new request on a worker (default the first). */
  newStream(worker = 0): HttpStream {
    const w = this.workers[worker];
    if (!w) throw new Error(`no worker ${worker} (the host has ${this.workers.length})`);
    return w.newStream();
  }

  get logs(): readonly LogEntry[] {
    return this.state.logs;
  }

  /** Log messages, optionally of one level only. */
  logMessages(level?: LogLevelName): string[] {
    return this.state.logs.filter((l) => level === undefined || l.level === level).map((l) => l.message);
  }

  /** The value of a counter or gauge by the name the filter defined (undefined if never defined). */
  metric(name: string): number | undefined {
    return this.state.metrics.get(name)?.value;
  }

  /** The full metric: kind, value, and for histograms every recorded value. */
  metricDetail(name: string): Metric | undefined {
    return this.state.metrics.get(name);
  }

  /** Time inside module exports and inside host functions, when loaded with profile: true. */
  get profile(): Profile | undefined {
    return this.state.profile;
  }

  get metrics(): Metrics {
    return this.state.metrics;
  }

  get sharedData(): SharedData {
    return this.state.sharedData;
  }

  get clock(): TestClock {
    return this.state.clock;
  }

  /** httpCalls not answered yet, on every worker (settled calls are dropped: the list stays short). */
  get pendingHttpCalls(): readonly HttpCall[] {
    return this.state.httpCalls;
  }

  /** How many httpCalls the module dispatched so far. */
  get dispatchedHttpCalls(): number {
    return this.workers.reduce((n, w) => n + w.dispatchedHttpCalls, 0);
  }

  /** The first VM failure (trap, proc_exit), if any. */
  get failure(): Error | undefined {
    return this.workers.find((w) => w.failure)?.failure;
  }

  /**
   * Moves the test clock forward, firing each onTick that falls due (in time order, across workers)
   * and failing httpCalls whose timeout passes, as Envoy would.
   */
  advance(ms: number): void {
    const target = this.state.clock.nowMilliseconds() + ms;
    for (;;) {
      let next: { at: number; run: () => void } | undefined;
      for (const w of this.workers) {
        const at = w.nextTickAt();
        if (at !== undefined && at <= target && (!next || at < next.at)) next = { at, run: () => w.tick() };
      }
      for (const c of this.state.httpCalls) {
        if (c.deadlineMs <= target && (!next || c.deadlineMs < next.at)) {
          next = { at: c.deadlineMs, run: () => c.fail() };
        }
      }
      if (!next) break;
      this.state.clock.advanceBy(next.at - this.state.clock.nowMilliseconds());
      next.run();
    }
    this.state.clock.advanceBy(target - this.state.clock.nowMilliseconds());
  }

  /** Shuts every root context down (proxy_on_done, proxy_on_delete). */
  close(): void {
    for (const w of this.workers) w.close();
  }
}
