// Filter distribution in the operator process: WasmFilters feed the module pipeline (background
// fetches, never blocking translation), FilterPolicies are resolved once per xDS batch into the
// translator's render hooks, and WasmFilter / FilterPolicy status is written back (leader only).
//
// Which Gateways a filter change affects is found by comparing each batch's resolution with the
// previous one: a Gateway is re-translated only when its own list of attached filters (names,
// scope, configuration, module digest, blocked reason) changed. So a policy edit reaches only the
// Gateways it targets (before and after the edit), and a module that appears or changes reaches only
// the Gateways that use that filter.

import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { canonicalJson } from '../filters/config-schema.ts';
import { fillConfig, fillsOf } from '../filters/gateway-fill.ts';
import { filterRenderHooks } from '../filters/hooks.ts';
import { ModuleCache } from '../filters/module-cache.ts';
import { DEFAULT_LIMITS, ModulePipeline } from '../filters/module-pipeline.ts';
import type { ConfigMapLike } from '../filters/module-source.ts';
import { type AttachedFilter, type PolicyResolution, resolvePolicies } from '../filters/policy-resolve.ts';
import { writeFilterPolicyStatus, writeWasmFilterStatus } from '../filters/status-writer.ts';
import {
  type FilterPolicy,
  LegateApiVersion,
  LegateGroup,
  type PolicyAncestorStatus,
  type WasmFilter,
  type WasmFilterStatus,
} from '../filters/types.ts';
import { wasmFilterStatus } from '../filters/wasm-filter-status.ts';
import type { Condition, GatewayClass } from '../k8s/gateway-api.ts';
import type { IndexedInput, RenderHooks } from '../translate/index.ts';
import type { WatchEventType } from './framework-watch.ts';
import type { Logger } from './log.ts';
import type { StoredKind } from './operator.ts';
import type { ObjectStore, StoreChange } from './store.ts';

export const FilterKinds = { wasmFilter: 'WasmFilter', filterPolicy: 'FilterPolicy', configMap: 'ConfigMap' } as const;

/** The label `legate filter push` puts on the ConfigMap holding a module. */
export const moduleConfigMapLabel = 'legate.dev/wasmfilter';

/**
 * The kinds filter distribution caches. ConfigMaps: only those holding a module (labelled by
 * `legate filter push`, or named by a WasmFilter's source) — never every ConfigMap of the cluster.
 * WasmFilter comes before ConfigMap so the initial list already knows which ConfigMaps are named.
 */
const legate = { group: LegateGroup, version: 'v1alpha1' } as const;
export const filterKinds: StoredKind[] = [
  { kind: FilterKinds.wasmFilter, apiVersion: LegateApiVersion, watch: { ...legate, plural: 'wasmfilters' } },
  { kind: FilterKinds.filterPolicy, apiVersion: LegateApiVersion, watch: { ...legate, plural: 'filterpolicies' } },
  {
    kind: FilterKinds.configMap,
    apiVersion: 'v1',
    watch: { group: '', version: 'v1', plural: 'configmaps' },
    keep: holdsModule,
  },
];

function holdsModule(obj: KubernetesObject, store: ObjectStore): boolean {
  if (obj.metadata?.labels?.[moduleConfigMapLabel] !== undefined) return true;
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name;
  return store
    .list<WasmFilter>(FilterKinds.wasmFilter)
    .some(
      (f) =>
        f.spec?.source?.type === 'ConfigMap' &&
        (f.metadata.namespace ?? 'default') === ns &&
        f.spec.source.configMap?.name === name,
    );
}

export interface FilterSyncOptions {
  kubeConfig: KubeConfig;
  store: ObjectStore;
  operatorNamespace: string;
  controllerName: string;
  leading: () => boolean;
  log: Logger;
  /** Asks the xDS sync for a batch (a module appeared or changed). */
  poke: () => void;
  /** Disk cache for verified modules; memory only when undefined. */
  moduleCacheDir?: string;
  now?: () => Date;
}

/** What one batch needs from filters: the hooks and the Gateways whose filters changed. */
export interface FilterBatch {
  hooks: RenderHooks;
  changed: Set<string>;
}

const filterKindSet = new Set<string>(Object.values(FilterKinds));
const noFilters: RenderHooks = filterRenderHooks({ byGateway: new Map(), status: new Map() });

export class FilterSync {
  readonly pipeline: ModulePipeline;
  readonly #o: FilterSyncOptions;
  readonly #custom: CustomObjectsApi;
  readonly #core: CoreV1Api;
  /** Gateway key → fingerprint of its attached filters in the last batch. */
  #fingerprints = new Map<string, string>();
  /** What was last written per object (`<kind>/<ns>/<name>`), until the store shows it. */
  readonly #written = new Map<string, string>();
  #queue: Promise<void> = Promise.resolve();
  #unsubscribe: (() => void) | undefined;
  /** Gateway key → ready replicas of its Envoy Deployment (absent: none ready, or not seen yet). */
  readonly #readyReplicas = new Map<string, number>();
  /** Gateway key → FilterPolicy key → why that Gateway's Envoy rejected the policy's filter config. */
  readonly #rejections = new Map<string, Map<string, string>>();
  #lastResolution: PolicyResolution | undefined;

  constructor(options: FilterSyncOptions) {
    this.#o = options;
    this.#custom = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.pipeline = new ModulePipeline({
      cache: new ModuleCache({
        dir: options.moduleCacheDir,
        maxMemoryBytes: DEFAULT_LIMITS.maxMemoryBytes,
        maxDiskBytes: DEFAULT_LIMITS.maxDiskBytes,
        maxModuleBytes: DEFAULT_LIMITS.maxModuleBytes,
      }),
      source: { readConfigMap: (ns, name) => this.#readConfigMap(ns, name), maxBytes: DEFAULT_LIMITS.maxModuleBytes },
      onChange: (key) => {
        this.#writeWasmFilter(key);
        this.#o.poke();
      },
    });
  }

  /** True for the kinds this module handles (the xDS sync leaves them to `batch`). */
  static handles(kind: string): boolean {
    return filterKindSet.has(kind);
  }

  /** Call once the store has synced: starts a fetch for every WasmFilter and follows changes. */
  start(): void {
    this.#unsubscribe = this.#o.store.subscribe((c) => this.#onChange(c));
    for (const f of this.#o.store.list<WasmFilter>(FilterKinds.wasmFilter)) this.#upsertFilter(f);
  }

  /** Resolves once no module fetch is in flight (each settled: a module or a problem), or after `timeoutMs`. */
  async firstFetches(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.pipeline.idle(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  stop(): void {
    this.#unsubscribe?.();
    this.pipeline.close();
  }

  /** This replica became the leader: writes every WasmFilter and FilterPolicy status that differs. */
  resync(): void {
    if (!this.#unsubscribe) return; // not started: start() writes them
    for (const f of this.#o.store.list<WasmFilter>(FilterKinds.wasmFilter)) {
      this.#writeWasmFilter(`${f.metadata.namespace ?? 'default'}/${f.metadata.name}`);
    }
    this.#o.poke();
  }

  /**
   * The FilterPolicies whose filter configuration a Gateway's Envoy rejected (NACKed ECDS), with
   * Envoy's reason: their ancestor status for that Gateway says `Accepted=False` (reason Invalid).
   */
  setRejections(gatewayKey: string, byPolicy: ReadonlyMap<string, string>): void {
    const before = this.#rejections.get(gatewayKey);
    if (byPolicy.size === 0 && !before) return;
    if (before && before.size === byPolicy.size && [...byPolicy].every(([k, v]) => before.get(k) === v)) return;
    if (byPolicy.size === 0) this.#rejections.delete(gatewayKey);
    else this.#rejections.set(gatewayKey, new Map(byPolicy));
    if (this.#lastResolution) this.#writePolicies(this.#lastResolution);
  }

  /** Resolves when every queued status write is done (tests, shutdown). */
  idle(): Promise<void> {
    return this.#queue;
  }

  /**
   * One xDS batch: resolves every FilterPolicy once against this snapshot, writes policy status
   * that changed, and says which Gateways' filters differ from the previous batch.
   */
  batch(index: IndexedInput): FilterBatch {
    const s = this.#o.store;
    const policies = s.list<FilterPolicy>(FilterKinds.filterPolicy);
    // No policies now or before (the common endpoint-churn batch): nothing to resolve or re-render.
    if (policies.length === 0 && this.#fingerprints.size === 0) return { hooks: noFilters, changed: new Set() };
    const controller = index.input.controllerName;
    const ours = [...index.gateways.values()].filter(
      (g) =>
        controller === undefined ||
        (index.gatewayClasses.get(g.spec?.gatewayClassName) as GatewayClass | undefined)?.spec?.controllerName ===
          controller,
    );
    const resolution = resolvePolicies({
      operatorNamespace: this.#o.operatorNamespace,
      controllerName: this.#o.controllerName,
      gateways: ours,
      httpRoutes: index.input.httpRoutes ?? [],
      grpcRoutes: index.input.grpcRoutes ?? [],
      referenceGrants: index.input.referenceGrants ?? [],
      wasmFilters: s.list<WasmFilter>(FilterKinds.wasmFilter),
      policies,
      module: (key) => this.pipeline.serving(key),
    });
    this.#fillGatewayFields(resolution);
    const fingerprints = new Map<string, string>();
    for (const [key, filters] of resolution.byGateway) fingerprints.set(key, fingerprint(filters));
    const changed = new Set<string>();
    for (const key of new Set([...fingerprints.keys(), ...this.#fingerprints.keys()])) {
      if (fingerprints.get(key) !== this.#fingerprints.get(key)) changed.add(key);
    }
    this.#fingerprints = fingerprints;
    this.#lastResolution = resolution;
    this.#writePolicies(resolution);
    return { hooks: filterRenderHooks(resolution), changed };
  }

  /**
   * A managed fleet object was added, changed or deleted: a Deployment's ready replicas are what
   * filters that ask for `gatewayReadyReplicas` get (each rate-limit pod enforces its share), so a
   * scale up or down ships them a new configuration.
   */
  fleetObjectChanged(type: WatchEventType, obj: KubernetesObject): void {
    if (obj.kind !== 'Deployment' || !obj.metadata?.namespace) return;
    const owner = obj.metadata.ownerReferences?.find((o) => o.kind === 'Gateway');
    if (!owner) return;
    const key = `${obj.metadata.namespace}/${owner.name}`;
    const ready =
      type === 'DELETED' ? 0 : ((obj as { status?: { readyReplicas?: number } }).status?.readyReplicas ?? 0);
    if ((this.#readyReplicas.get(key) ?? 0) === ready) return;
    if (ready === 0) this.#readyReplicas.delete(key);
    else this.#readyReplicas.set(key, ready);
    if (this.#unsubscribe) this.#o.poke();
  }

  /** Writes each Gateway's facts into the config fields its filters' schemas ask the operator to fill. */
  #fillGatewayFields(resolution: PolicyResolution): void {
    const fillsByFilter = new Map(
      this.#o.store
        .list<WasmFilter>(FilterKinds.wasmFilter)
        .map((f) => [`${f.metadata.namespace ?? 'default'}/${f.metadata.name}`, fillsOf(f.spec.configSchema).fills]),
    );
    for (const [gateway, filters] of resolution.byGateway) {
      const facts = { readyReplicas: this.#readyReplicas.get(gateway) ?? 0 };
      resolution.byGateway.set(
        gateway,
        filters.map((f) => {
          const fills = fillsByFilter.get(f.filterKey) ?? [];
          return fills.length === 0 ? f : { ...f, configJson: fillConfig(f.configJson, fills, facts) };
        }),
      );
    }
  }

  #onChange(change: StoreChange): void {
    if (change.kind === FilterKinds.wasmFilter) {
      const filter = change.object as unknown as WasmFilter;
      if (change.type === 'delete') {
        this.pipeline.remove(change.key);
        this.#written.delete(`WasmFilter/${change.key}`);
      } else this.#upsertFilter(filter);
    } else if (change.kind === FilterKinds.configMap) {
      // Deleted too: the refetch fails, the last good module keeps serving, and the status says so.
      const [ns = '', name = ''] = change.key.split('/');
      this.pipeline.configMapChanged(ns, name);
    } else if (change.kind === FilterKinds.filterPolicy && change.type === 'delete') {
      this.#written.delete(`FilterPolicy/${change.key}`);
    }
  }

  #upsertFilter(filter: WasmFilter): void {
    if (!filter.spec?.source) return;
    this.pipeline.upsert(filter);
    // A new generation (a configSchema edit) changes status even when the module does not.
    this.#writeWasmFilter(`${filter.metadata.namespace ?? 'default'}/${filter.metadata.name}`);
  }

  async #readConfigMap(namespace: string, name: string): Promise<ConfigMapLike | undefined> {
    const cached = this.#o.store.get<ConfigMapLike>(FilterKinds.configMap, `${namespace}/${name}`);
    if (cached) return cached;
    // Not cached: created before the WasmFilter that names it, or not labelled. Read it once.
    try {
      return await this.#core.readNamespacedConfigMap({ namespace, name });
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  }

  #writeWasmFilter(key: string): void {
    const filter = this.#o.store.get<WasmFilter>(FilterKinds.wasmFilter, key);
    if (!filter || !this.#o.leading()) return;
    const status = wasmFilterStatus(filter, this.pipeline.state(key));
    const want = canonicalJson(comparableFilterStatus(status));
    if (!this.#needsWrite(`WasmFilter/${key}`, want, canonicalJson(comparableFilterStatus(filter.status)))) return;
    this.#enqueue(`WasmFilter/${key}`, async () => {
      const fresh = this.#o.store.get<WasmFilter>(FilterKinds.wasmFilter, key) ?? filter;
      await writeWasmFilterStatus(this.#custom, fresh, status, this.#o.now?.());
    });
  }

  #writePolicies(resolution: PolicyResolution): void {
    if (!this.#o.leading()) return;
    const controller = this.#o.controllerName;
    for (const policy of this.#o.store.list<FilterPolicy>(FilterKinds.filterPolicy)) {
      const key = `${policy.metadata.namespace ?? 'default'}/${policy.metadata.name}`;
      const ours = withRejections(resolution.status.get(key) ?? [], key, this.#rejections, policy.metadata.generation);
      const have = (policy.status?.ancestors ?? []).filter((a) => a.controllerName === controller);
      const want = canonicalJson(comparableAncestors(ours));
      if (!this.#needsWrite(`FilterPolicy/${key}`, want, canonicalJson(comparableAncestors(have)))) continue;
      this.#enqueue(`FilterPolicy/${key}`, async () => {
        const fresh = this.#o.store.get<FilterPolicy>(FilterKinds.filterPolicy, key) ?? policy;
        await writeFilterPolicyStatus(this.#custom, fresh, controller, ours, this.#o.now?.());
      });
    }
  }

  /** Level-triggered: write when the stored status differs, unless that same status is in flight. */
  #needsWrite(id: string, want: string, have: string): boolean {
    if (want === have) {
      this.#written.delete(id);
      return false;
    }
    if (this.#written.get(id) === want) return false;
    this.#written.set(id, want);
    return true;
  }

  #enqueue(id: string, work: () => Promise<void>): void {
    this.#queue = this.#queue.then(work).catch((err: unknown) => {
      // Vanished object or a transient error: the next event or resync writes again.
      this.#written.delete(id);
      this.#o.log.warn('filter status write failed', { object: id, err: String((err as Error)?.message ?? err) });
    });
  }
}

/**
 * A policy's ancestor statuses with `Accepted=False` (reason Invalid, Envoy's message) for each Gateway
 * whose Envoy rejected its filter configuration.
 */
export function withRejections(
  ancestors: readonly PolicyAncestorStatus[],
  policyKey: string,
  rejections: ReadonlyMap<string, ReadonlyMap<string, string>>,
  generation: number | undefined,
): PolicyAncestorStatus[] {
  if (rejections.size === 0) return [...ancestors];
  const policyNs = policyKey.split('/')[0];
  return ancestors.map((a) => {
    if ((a.ancestorRef.kind ?? 'Gateway') !== 'Gateway') return a;
    const gateway = `${a.ancestorRef.namespace ?? policyNs}/${a.ancestorRef.name}`;
    const message = rejections.get(gateway)?.get(policyKey);
    if (!message) return a;
    const rejected: Condition = { type: 'Accepted', status: 'False', reason: 'Invalid', message };
    if (generation !== undefined) rejected.observedGeneration = generation;
    return { ...a, conditions: [rejected, ...a.conditions.filter((c) => c.type !== 'Accepted')] };
  });
}

/** What decides a Gateway's filter resources (module bytes stand in by their digest). */
function fingerprint(filters: readonly AttachedFilter[]): string {
  return JSON.stringify(filters.map(({ module, ...f }) => ({ ...f, sha256: module?.sha256 })));
}

function stripTimes(conditions: readonly Condition[] | undefined): Omit<Condition, 'lastTransitionTime'>[] {
  return (conditions ?? []).map(({ lastTransitionTime: _t, ...c }) => c);
}

function comparableFilterStatus(s: WasmFilterStatus | undefined): unknown {
  if (!s) return {};
  const { lastFetchTime: _f, conditions, ...rest } = s;
  return {
    observedGeneration: rest.observedGeneration,
    sha256: rest.sha256,
    size: rest.size,
    abiVersion: rest.abiVersion,
    conditions: stripTimes(conditions),
  };
}

function comparableAncestors(list: readonly PolicyAncestorStatus[]): unknown {
  return list.map((a) => ({
    ancestorRef: a.ancestorRef,
    controllerName: a.controllerName,
    conditions: stripTimes(a.conditions),
  }));
}
