// TypeScript shapes of the legate.dev/v1alpha1 WasmFilter and FilterPolicy objects, field for field
// as crds/wasmfilter.yaml and crds/filterpolicy.yaml define them (see docs/crds/), and the few
// derived types the pipeline, the resolver and the renderer share.

import type { Condition, ObjectMeta } from '../k8s/gateway-api.ts';

export const LegateGroup = 'legate.dev';
export const LegateApiVersion = `${LegateGroup}/v1alpha1`;

export type FailurePolicy = 'FailClosed' | 'FailOpen';

export interface WasmFilterSpec {
  source:
    | { type: 'ConfigMap'; configMap: { name: string; key: string; sha256?: string } }
    | { type: 'HTTPS'; https: { url: string; sha256: string } };
  rootId?: string;
  vmId?: string;
  /** Defaulted by the API server to FailClosed. */
  failurePolicy?: FailurePolicy;
  configSchema?: Record<string, unknown>;
  description?: string;
}

export interface WasmFilterStatus {
  observedGeneration?: number;
  sha256?: string;
  size?: number;
  abiVersion?: string;
  lastFetchTime?: string;
  conditions?: Condition[];
}

export interface WasmFilter {
  apiVersion?: string;
  kind?: 'WasmFilter';
  metadata: ObjectMeta;
  spec: WasmFilterSpec;
  status?: WasmFilterStatus;
}

export interface PolicyTargetRef {
  group: 'gateway.networking.k8s.io';
  kind: 'Gateway' | 'HTTPRoute' | 'GRPCRoute';
  name: string;
  sectionName?: string;
}

export interface FilterEntry {
  name: string;
  filterRef: { name: string; namespace?: string };
  config?: Record<string, unknown>;
}

export interface PolicyAncestorStatus {
  ancestorRef: { group?: string; kind?: string; namespace?: string; name: string; sectionName?: string };
  controllerName: string;
  conditions: Condition[];
}

export interface FilterPolicy {
  apiVersion?: string;
  kind?: 'FilterPolicy';
  metadata: ObjectMeta;
  spec: { targetRefs: PolicyTargetRef[]; filters: FilterEntry[] };
  status?: { ancestors?: PolicyAncestorStatus[] };
}

/** Where a module's bytes come from, resolved to absolute names (the pipeline's input). */
export type ModuleSource =
  | { type: 'ConfigMap'; namespace: string; name: string; key: string; sha256?: string }
  | { type: 'HTTPS'; url: string; sha256: string };

/** The module source of a WasmFilter, with the ConfigMap's namespace filled in. */
export function moduleSourceOf(filter: WasmFilter): ModuleSource {
  const s = filter.spec.source;
  if (s.type === 'HTTPS') return { type: 'HTTPS', url: s.https.url, sha256: s.https.sha256 };
  return {
    type: 'ConfigMap',
    namespace: filter.metadata.namespace ?? 'default',
    name: s.configMap.name,
    key: s.configMap.key,
    ...(s.configMap.sha256 ? { sha256: s.configMap.sha256 } : {}),
  };
}

/** A stable identity for a source: a WasmFilter whose source did not change keeps its module. */
export function sourceKey(source: ModuleSource): string {
  return source.type === 'HTTPS'
    ? `https ${source.url} ${source.sha256}`
    : `configmap ${source.namespace}/${source.name}/${source.key} ${source.sha256 ?? ''}`;
}
