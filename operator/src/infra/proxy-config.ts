// legate.dev/v1alpha1 ProxyConfig: how a Gateway's Envoy fleet runs. The class-level ProxyConfig
// (GatewayClass.spec.parametersRef) gives defaults, the Gateway-level one
// (Gateway.spec.infrastructure.parametersRef) overrides it field by field, and the operator's
// built-in defaults fill whatever neither sets. The CRD carries no top-level defaults on purpose:
// a defaulted field in the Gateway's ProxyConfig would silently override the class's choice.

import type { ObjectMeta } from '../k8s/gateway-api.ts';
import { defaultEnvoyImage } from './envoy-version.ts';

export const ProxyConfigGroup = 'legate.dev';
export const ProxyConfigVersion = 'v1alpha1';
export const ProxyConfigKind = 'ProxyConfig';
export const ProxyConfigPlural = 'proxyconfigs';

export type IntOrString = number | string;
export type ServiceType = 'LoadBalancer' | 'NodePort' | 'ClusterIP';
export type EnvoyLogLevel = 'trace' | 'debug' | 'info' | 'warning' | 'error' | 'critical' | 'off';

export interface ResourceRequirements {
  requests?: Record<string, IntOrString>;
  limits?: Record<string, IntOrString>;
}

export interface AutoscalingSpec {
  minReplicas?: number;
  maxReplicas?: number;
  targetCPUUtilizationPercentage?: number;
  targetMemoryUtilizationPercentage?: number;
  /** autoscaling/v2 HorizontalPodAutoscalerBehavior, passed through as is. */
  behavior?: Record<string, unknown>;
}

export interface ProxyConfigSpec {
  envoy?: { image?: string; logLevel?: EnvoyLogLevel };
  /** Fixed replica count; ignored (left to the HPA) when autoscaling is set. */
  replicas?: number;
  autoscaling?: AutoscalingSpec;
  resources?: ResourceRequirements;
  pod?: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    nodeSelector?: Record<string, string>;
    tolerations?: Record<string, unknown>[];
    affinity?: Record<string, unknown>;
    topologySpreadConstraints?: Record<string, unknown>[];
  };
  podDisruptionBudget?: { minAvailable?: IntOrString; maxUnavailable?: IntOrString };
  service?: {
    type?: ServiceType;
    annotations?: Record<string, string>;
    externalTrafficPolicy?: 'Cluster' | 'Local';
    loadBalancerClass?: string;
    loadBalancerSourceRanges?: string[];
  };
  shutdown?: {
    /** Envoy's --drain-time-s: how long listeners discourage connections before closing. */
    drainSeconds?: number;
    /** Extra time after the drain before the kubelet kills the pod. */
    terminationGraceExtraSeconds?: number;
  };
}

export interface ProxyConfig {
  apiVersion?: string;
  kind?: 'ProxyConfig';
  metadata: ObjectMeta;
  spec?: ProxyConfigSpec;
}

/** What the fleet runs with when no ProxyConfig says otherwise. */
export const builtInDefaults = {
  envoy: { image: defaultEnvoyImage, logLevel: 'info' },
  replicas: 2,
  resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '1Gi' } },
  podDisruptionBudget: { maxUnavailable: 1 },
  service: { type: 'LoadBalancer' },
  shutdown: { drainSeconds: 15, terminationGraceExtraSeconds: 5 },
} as const satisfies ProxyConfigSpec;

/**
 * Sub-objects that only make sense whole: merging two halves field by field would produce a
 * combination neither author wrote (minAvailable from one and maxUnavailable from the other).
 */
const atomicPaths = new Set([
  'podDisruptionBudget',
  'autoscaling.behavior',
  'pod.affinity',
  'pod.tolerations',
  'pod.topologySpreadConstraints',
  'service.loadBalancerSourceRanges',
]);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function mergeAt(base: unknown, over: unknown, path: string): unknown {
  if (over === undefined) return base;
  if (atomicPaths.has(path) || !isPlainObject(base) || !isPlainObject(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    out[key] = mergeAt(base[key], value, path ? `${path}.${key}` : key);
  }
  return out;
}

/** Layers ProxyConfig specs, later ones winning field by field (maps merge key by key). */
export function mergeProxyConfigSpecs(...layers: (ProxyConfigSpec | undefined)[]): ProxyConfigSpec {
  let merged: unknown = {};
  for (const layer of layers) merged = mergeAt(merged, layer, '');
  return merged as ProxyConfigSpec;
}

/** The settings the builders use: built-in defaults, then the class's, then the Gateway's. */
export interface EffectiveProxyConfig {
  image: string;
  logLevel: EnvoyLogLevel;
  /** Undefined when autoscaling is on: the HPA owns the replica count. */
  replicas: number | undefined;
  /** Undefined when autoscaling is off (no HPA). */
  autoscaling: (AutoscalingSpec & { minReplicas: number; maxReplicas: number }) | undefined;
  resources: ResourceRequirements;
  pod: NonNullable<ProxyConfigSpec['pod']>;
  podDisruptionBudget: { minAvailable: IntOrString } | { maxUnavailable: IntOrString };
  service: NonNullable<ProxyConfigSpec['service']> & { type: ServiceType };
  drainSeconds: number;
  terminationGracePeriodSeconds: number;
}

/** Problems a merged spec can have even though each ProxyConfig passed the API server's rules. */
export function validateProxyConfigSpec(spec: ProxyConfigSpec): string[] {
  const problems: string[] = [];
  const a = spec.autoscaling;
  if (a) {
    const min = a.minReplicas ?? 1;
    if (a.maxReplicas === undefined) problems.push('autoscaling.maxReplicas is required when autoscaling is set');
    else if (min > a.maxReplicas) {
      problems.push(`autoscaling.minReplicas (${min}) is greater than autoscaling.maxReplicas (${a.maxReplicas})`);
    }
    if (a.targetCPUUtilizationPercentage === undefined && a.targetMemoryUtilizationPercentage === undefined) {
      problems.push('autoscaling needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage');
    }
  }
  if (spec.replicas !== undefined && spec.replicas < 0) problems.push(`replicas (${spec.replicas}) is negative`);
  const pdb = spec.podDisruptionBudget;
  if (pdb && pdb.minAvailable !== undefined && pdb.maxUnavailable !== undefined) {
    problems.push('podDisruptionBudget sets both minAvailable and maxUnavailable; choose one');
  }
  return problems;
}

export type EffectiveResult = { ok: true; config: EffectiveProxyConfig } | { ok: false; problems: string[] };

/** Merges the layers over the built-in defaults and checks the result. */
export function effectiveProxyConfig(classSpec?: ProxyConfigSpec, gatewaySpec?: ProxyConfigSpec): EffectiveResult {
  const user = mergeProxyConfigSpecs(classSpec, gatewaySpec);
  const problems = validateProxyConfigSpec(user);
  if (problems.length > 0) return { ok: false, problems };
  const s = mergeProxyConfigSpecs(builtInDefaults as ProxyConfigSpec, user);
  const autoscaling = s.autoscaling
    ? { ...s.autoscaling, minReplicas: s.autoscaling.minReplicas ?? 1, maxReplicas: s.autoscaling.maxReplicas ?? 1 }
    : undefined;
  const pdb: NonNullable<ProxyConfigSpec['podDisruptionBudget']> =
    s.podDisruptionBudget ?? builtInDefaults.podDisruptionBudget;
  const drainSeconds = s.shutdown?.drainSeconds ?? builtInDefaults.shutdown.drainSeconds;
  return {
    ok: true,
    config: {
      image: s.envoy?.image ?? builtInDefaults.envoy.image,
      logLevel: s.envoy?.logLevel ?? builtInDefaults.envoy.logLevel,
      replicas: autoscaling ? undefined : (s.replicas ?? builtInDefaults.replicas),
      autoscaling,
      resources: s.resources ?? {},
      pod: s.pod ?? {},
      podDisruptionBudget:
        pdb.minAvailable !== undefined
          ? { minAvailable: pdb.minAvailable }
          : { maxUnavailable: pdb.maxUnavailable ?? 1 },
      service: { ...s.service, type: s.service?.type ?? 'LoadBalancer' },
      drainSeconds,
      terminationGracePeriodSeconds:
        drainSeconds +
        (s.shutdown?.terminationGraceExtraSeconds ?? builtInDefaults.shutdown.terminationGraceExtraSeconds),
    },
  };
}
