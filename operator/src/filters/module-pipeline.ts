// The module pipeline: for each WasmFilter, fetch its bytes, check them, keep them, and retry with
// backoff when that fails. Each WasmFilter is fetched on its own in the background: translation
// never waits for a download, it reads `serving()` (synchronously) and is told through `onChange`
// when a module appears or changes, so only the Gateways that use that filter are re-translated.
//
// A failure never takes a working module out of service: the last good version keeps serving and
// the status says so. What happens before any version was good is the filter's failurePolicy
// (see render.ts and docs/filters/distribution.md).

import type { ModuleCache } from './module-cache.ts';
import { checkModule, type ModuleProblem, type VerifiedModule } from './module-check.ts';
import { fetchModule, type SourceOptions } from './module-source.ts';
import { type ModuleSource, moduleSourceOf, sourceKey, type WasmFilter } from './types.ts';

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export interface PipelineOptions {
  source: SourceOptions;
  cache: ModuleCache;
  /** Called (at most once per settled fetch) when a filter's serving module or problem changed. */
  onChange(filterKey: string): void;
  backoff?: Backoff;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 1000, maxMs: 5 * 60_000 };

/**
 * Default bounds. Modules travel inline in ECDS (and ConfigMaps stop at 1 MiB anyway); 8 MiB leaves
 * room for HTTPS modules while keeping a misconfigured URL from filling the operator's memory.
 */
export const DEFAULT_LIMITS = {
  maxModuleBytes: 8 * 1024 * 1024,
  maxMemoryBytes: 256 * 1024 * 1024,
  maxDiskBytes: 1024 * 1024 * 1024,
} as const;

/** The delay before retry number `attempt` (1-based): doubling from initialMs, capped at maxMs. */
export function backoffDelay(attempt: number, backoff: Backoff): number {
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, attempt - 1));
}

/** What the pipeline knows about one WasmFilter. */
export interface ModuleState {
  source: ModuleSource;
  /** The last module that passed every check (possibly from an earlier source or generation). */
  serving?: VerifiedModule;
  /** True when `serving` came from the current source (not a leftover from before a spec change). */
  current: boolean;
  /** Why the latest attempt failed; undefined after a success. */
  problem?: ModuleProblem;
  /** Failed attempts since the last success. */
  failures: number;
  fetching: boolean;
  /** When the last attempt settled (ms since epoch). */
  settledAt?: number;
}

interface Entry {
  state: ModuleState;
  sourceKey: string;
  /** Bumped on every new fetch; a settled fetch whose token is stale is ignored. */
  token: number;
  timer?: NodeJS.Timeout;
}

export function filterKey(filter: WasmFilter): string {
  return `${filter.metadata.namespace ?? 'default'}/${filter.metadata.name}`;
}

export class ModulePipeline {
  readonly #options: PipelineOptions;
  readonly #backoff: Backoff;
  readonly #entries = new Map<string, Entry>();
  #closed = false;

  constructor(options: PipelineOptions) {
    this.#options = options;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
  }

  /** A WasmFilter was added or changed: fetches again only when its source changed. */
  upsert(filter: WasmFilter): void {
    const key = filterKey(filter);
    const source = moduleSourceOf(filter);
    const sk = sourceKey(source);
    const existing = this.#entries.get(key);
    if (existing && existing.sourceKey === sk) return;
    const entry: Entry = existing ?? {
      state: { source, current: false, failures: 0, fetching: false },
      sourceKey: sk,
      token: 0,
    };
    entry.sourceKey = sk;
    entry.state = { ...entry.state, source, current: false, failures: 0, problem: undefined };
    this.#entries.set(key, entry);
    this.#start(key, entry);
  }

  remove(key: string): void {
    const entry = this.#entries.get(key);
    if (entry?.timer) clearTimeout(entry.timer);
    this.#entries.delete(key);
  }

  /** A ConfigMap changed: refetches every filter whose module lives in it. */
  configMapChanged(namespace: string, name: string): void {
    for (const [key, entry] of this.#entries) {
      const s = entry.state.source;
      if (s.type === 'ConfigMap' && s.namespace === namespace && s.name === name) this.#start(key, entry);
    }
  }

  state(key: string): ModuleState | undefined {
    return this.#entries.get(key)?.state;
  }

  /** The module to deliver for a filter now (the last good one), if any. Synchronous. */
  serving(key: string): VerifiedModule | undefined {
    return this.#entries.get(key)?.state.serving;
  }

  /** Resolves once no fetch is in flight (for tests and orderly shutdown); retries may still be scheduled. */
  async idle(): Promise<void> {
    while ([...this.#entries.values()].some((e) => e.state.fetching)) await new Promise((r) => setTimeout(r, 5));
  }

  close(): void {
    this.#closed = true;
    for (const entry of this.#entries.values()) if (entry.timer) clearTimeout(entry.timer);
  }

  #start(key: string, entry: Entry): void {
    if (this.#closed) return;
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
    const token = ++entry.token;
    entry.state = { ...entry.state, fetching: true };
    // Keys are `<namespace>/<name>`: the namespace scopes the module cache.
    const namespace = key.slice(0, key.indexOf('/'));
    void this.#load(namespace, entry.state.source).then((result) => this.#settle(key, entry, token, result));
  }

  async #load(
    namespace: string,
    source: ModuleSource,
  ): Promise<{ ok: true; module: VerifiedModule } | { ok: false; problem: ModuleProblem }> {
    const { cache, source: sourceOptions } = this.#options;
    // A pinned HTTPS digest this namespace's sources already delivered needs no download (a restart
    // while the source is down); another team's copy does not count. A ConfigMap is always read: it is as available as the API server, and a ConfigMap whose
    // bytes do not match the pin must say so, not be papered over by another filter's cached module.
    if (source.type === 'HTTPS' && source.sha256) {
      const cached = await cache.get(namespace, source.sha256).catch(() => undefined);
      if (cached) return { ok: true, module: cached };
    }
    try {
      const fetched = await fetchModule(source, sourceOptions);
      if (!fetched.ok) return fetched;
      const field = source.type === 'HTTPS' ? 'spec.source.https.sha256' : 'spec.source.configMap.sha256';
      const checked = await checkModule(fetched.bytes, {
        ...(source.sha256 ? { sha256: source.sha256, sha256Field: field } : {}),
        maxBytes: sourceOptions.maxBytes,
      });
      if (checked.ok) await cache.put(namespace, checked.module).catch(() => {});
      return checked;
    } catch (e) {
      // Defensive: fetchModule and checkModule report problems as values; this is a bug path.
      return {
        ok: false,
        problem: { reason: 'SourceUnreachable', message: `internal error: ${(e as Error).message}`, transient: true },
      };
    }
  }

  #settle(
    key: string,
    entry: Entry,
    token: number,
    result: { ok: true; module: VerifiedModule } | { ok: false; problem: ModuleProblem },
  ): void {
    if (this.#closed || token !== entry.token || this.#entries.get(key) !== entry) return;
    const before = entry.state;
    const settledAt = Date.now();
    if (result.ok) {
      entry.state = {
        ...before,
        serving: result.module,
        current: true,
        problem: undefined,
        failures: 0,
        fetching: false,
        settledAt,
      };
    } else {
      const failures = before.failures + 1;
      entry.state = { ...before, problem: result.problem, failures, fetching: false, settledAt };
      // Every failure is retried: a 404 upload in progress, a server that comes back, a file fixed
      // in place. Spec or ConfigMap changes restart at once, without waiting for the timer.
      entry.timer = setTimeout(() => this.#start(key, entry), backoffDelay(failures, this.#backoff));
      entry.timer.unref();
    }
    const changed =
      before.serving?.sha256 !== entry.state.serving?.sha256 ||
      before.problem?.message !== entry.state.problem?.message ||
      before.current !== entry.state.current;
    if (changed) this.#options.onChange(key);
  }
}
