// The desired Kubernetes objects for one Gateway's Envoy fleet: pure functions from the Gateway, its
// effective ProxyConfig and the operator's settings to plain manifests, ready for server-side apply.

import { createHash } from 'node:crypto';
import type { Gateway } from '../k8s/gateway-api.ts';
import { clientCertSecretKeys, clientCertSecretName } from '../xds/identity.ts';
import { BootstrapPaths, buildBootstrap, buildSdsFiles } from './bootstrap.ts';
import { checkListeners, l4Protocol } from './listeners.ts';
import { EnvoyPorts, envoyListenerPort, managedLabels, managedName, selectorLabels } from './names.ts';
import type { EffectiveProxyConfig } from './proxy-config.ts';

export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences: OwnerReference[];
  };
} & Record<string, unknown>;

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: boolean;
}

/** The kinds of object a fleet is made of, in the order they are applied. */
export const FleetKinds = [
  { apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts' },
  { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps' },
  { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments' },
  { apiVersion: 'v1', kind: 'Service', plural: 'services' },
  { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', plural: 'horizontalpodautoscalers' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets' },
] as const;
export type FleetKind = (typeof FleetKinds)[number]['kind'];

export interface FleetSettings {
  /** host:port of the operator's xDS service. */
  xdsAddress: string;
}

export interface Fleet {
  serviceAccount: Manifest;
  configMap: Manifest;
  deployment: Manifest;
  /** Absent when no listener is valid (a Service needs at least one port). */
  service: Manifest | undefined;
  /** Absent when autoscaling is off: the reconciler deletes any HPA left from before. */
  hpa: Manifest | undefined;
  pdb: Manifest;
}

const envoyUid = 65532;

function gatewayOwnerReference(gw: Gateway): OwnerReference {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    name: gw.metadata.name,
    uid: gw.metadata.uid as string,
    controller: true,
  };
}

function meta(gw: Gateway, kind: string, extraAnnotations: Record<string, string> = {}): Manifest {
  const infra = gw.spec.infrastructure;
  // Managed labels are applied last: a Gateway's infrastructure labels may add, never take over.
  const labels = { ...infra?.labels, ...managedLabels(gw.metadata.name) };
  const annotations = { ...infra?.annotations, ...extraAnnotations };
  return {
    apiVersion: FleetKinds.find((k) => k.kind === kind)?.apiVersion as string,
    kind,
    metadata: {
      name: managedName(gw.metadata.name),
      namespace: gw.metadata.namespace as string,
      labels,
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      ownerReferences: [gatewayOwnerReference(gw)],
    },
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The distinct ports the fleet serves (listeners that fail their checks are left out). */
export function servedPorts(gw: Gateway): { port: number; protocol: 'TCP' | 'UDP'; envoyPort: number }[] {
  const ok = new Set(
    checkListeners(gw.spec.listeners)
      .filter((c) => !c.problem)
      .map((c) => c.name),
  );
  const seen = new Map<string, { port: number; protocol: 'TCP' | 'UDP'; envoyPort: number }>();
  for (const l of gw.spec.listeners) {
    if (!ok.has(l.name)) continue;
    const protocol = l4Protocol(l);
    seen.set(`${protocol}/${l.port}`, { port: l.port, protocol, envoyPort: envoyListenerPort(l.port) });
  }
  return [...seen.values()].sort((a, b) => a.port - b.port);
}

export function buildFleet(gw: Gateway, config: EffectiveProxyConfig, settings: FleetSettings): Fleet {
  const name = managedName(gw.metadata.name);
  const namespace = gw.metadata.namespace as string;
  const selector = selectorLabels(gw.metadata.name);
  const sds = buildSdsFiles();
  const configData = {
    [BootstrapPaths.bootstrapKey]: JSON.stringify(
      buildBootstrap({ namespace, gatewayName: gw.metadata.name, xdsAddress: settings.xdsAddress }),
      null,
      2,
    ),
    [BootstrapPaths.sdsCertificateKey]: JSON.stringify(sds.certificate, null, 2),
    [BootstrapPaths.sdsTrustedCaKey]: JSON.stringify(sds.trustedCa, null, 2),
  };
  const ports = servedPorts(gw);

  const serviceAccount = { ...meta(gw, 'ServiceAccount'), automountServiceAccountToken: false };
  const configMap = { ...meta(gw, 'ConfigMap'), data: configData };
  const service = ports.length > 0 ? buildService(gw, config, ports, selector) : undefined;
  const deployment = buildDeployment(gw, config, ports, selector, sha256(JSON.stringify(configData)));
  const pdb = {
    ...meta(gw, 'PodDisruptionBudget'),
    spec: { selector: { matchLabels: selector }, ...config.podDisruptionBudget },
  };
  const hpa = config.autoscaling ? buildHpa(gw, config.autoscaling, name) : undefined;
  return { serviceAccount, configMap, deployment, service, hpa, pdb };
}

function buildService(
  gw: Gateway,
  config: EffectiveProxyConfig,
  ports: ReturnType<typeof servedPorts>,
  selector: Record<string, string>,
): Manifest {
  const svc = config.service;
  const external = svc.type !== 'ClusterIP';
  const spec: Record<string, unknown> = {
    type: svc.type,
    selector,
    ports: ports.map((p) => ({
      name: `${p.protocol.toLowerCase()}-${p.port}`,
      protocol: p.protocol,
      port: p.port,
      targetPort: p.envoyPort,
    })),
  };
  if (external && svc.externalTrafficPolicy) spec.externalTrafficPolicy = svc.externalTrafficPolicy;
  if (svc.type === 'LoadBalancer') {
    if (svc.loadBalancerClass) spec.loadBalancerClass = svc.loadBalancerClass;
    if (svc.loadBalancerSourceRanges) spec.loadBalancerSourceRanges = svc.loadBalancerSourceRanges;
  }
  return { ...meta(gw, 'Service', svc.annotations), spec };
}

function buildHpa(gw: Gateway, a: NonNullable<EffectiveProxyConfig['autoscaling']>, deploymentName: string): Manifest {
  const metrics: Record<string, unknown>[] = [];
  const target = (resource: string, utilization: number | undefined) => {
    if (utilization === undefined) return;
    metrics.push({
      type: 'Resource',
      resource: { name: resource, target: { type: 'Utilization', averageUtilization: utilization } },
    });
  };
  target('cpu', a.targetCPUUtilizationPercentage);
  target('memory', a.targetMemoryUtilizationPercentage);
  return {
    ...meta(gw, 'HorizontalPodAutoscaler'),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: deploymentName },
      minReplicas: a.minReplicas,
      maxReplicas: a.maxReplicas,
      metrics,
      ...(a.behavior ? { behavior: a.behavior } : {}),
    },
  };
}

function buildDeployment(
  gw: Gateway,
  config: EffectiveProxyConfig,
  ports: ReturnType<typeof servedPorts>,
  selector: Record<string, string>,
  configHash: string,
): Manifest {
  const name = managedName(gw.metadata.name);
  const namespace = gw.metadata.namespace as string;
  const infra = gw.spec.infrastructure;
  const admin = `http://127.0.0.1:${EnvoyPorts.admin}`;
  // Envoy closes listeners at once on SIGTERM. Its documented graceful path is to fail health checks,
  // then drain_listeners?graceful (discourage connections for --drain-time-s), and only then exit.
  const drain = [
    `curl -fsS -X POST ${admin}/healthcheck/fail`,
    `curl -fsS -X POST '${admin}/drain_listeners?graceful&inboundonly'`,
    `sleep ${config.drainSeconds}`,
  ].join('; ');
  const podLabels = { ...infra?.labels, ...config.pod.labels, ...managedLabels(gw.metadata.name) };
  const podAnnotations = {
    ...infra?.annotations,
    ...config.pod.annotations,
    'prometheus.io/scrape': 'true',
    'prometheus.io/port': String(EnvoyPorts.metrics),
    'prometheus.io/path': '/stats/prometheus',
    // Envoy reads its bootstrap once: a changed bootstrap must roll the pods.
    'legate.dev/bootstrap-hash': configHash,
  };
  const podSpec: Record<string, unknown> = {
    serviceAccountName: name,
    automountServiceAccountToken: false,
    terminationGracePeriodSeconds: config.terminationGracePeriodSeconds,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: envoyUid,
      runAsGroup: envoyUid,
      fsGroup: envoyUid,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: [
      {
        name: 'envoy',
        image: config.image,
        command: ['envoy'],
        args: [
          '-c',
          `${BootstrapPaths.configDir}/${BootstrapPaths.bootstrapKey}`,
          '--service-cluster',
          `${namespace}/${gw.metadata.name}`,
          '--service-node',
          '$(POD_NAME)',
          '--log-level',
          config.logLevel,
          '--drain-time-s',
          String(config.drainSeconds),
          '--drain-strategy',
          'immediate',
        ],
        env: [
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        ],
        ports: [
          ...ports.map((p) => ({ containerPort: p.envoyPort, protocol: p.protocol })),
          { name: 'readiness', containerPort: EnvoyPorts.readiness, protocol: 'TCP' },
          { name: 'metrics', containerPort: EnvoyPorts.metrics, protocol: 'TCP' },
        ],
        resources: config.resources,
        startupProbe: {
          httpGet: { path: '/ready', port: EnvoyPorts.readiness },
          periodSeconds: 2,
          failureThreshold: 60,
        },
        readinessProbe: {
          httpGet: { path: '/ready', port: EnvoyPorts.readiness },
          periodSeconds: 5,
          failureThreshold: 1,
        },
        // Liveness only asks whether Envoy still accepts connections: /ready turns 503 while
        // draining, and a liveness failure then would kill the pod mid-drain.
        livenessProbe: { tcpSocket: { port: EnvoyPorts.readiness }, periodSeconds: 10, failureThreshold: 3 },
        lifecycle: { preStop: { exec: { command: ['/bin/sh', '-c', drain] } } },
        securityContext: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        },
        volumeMounts: [
          { name: 'config', mountPath: BootstrapPaths.configDir, readOnly: true },
          { name: 'xds-tls', mountPath: BootstrapPaths.xdsTlsDir, readOnly: true },
          { name: 'tmp', mountPath: '/tmp' },
        ],
      },
    ],
    volumes: [
      { name: 'config', configMap: { name } },
      {
        name: 'xds-tls',
        secret: {
          secretName: clientCertSecretName(gw.metadata.name),
          items: Object.values(clientCertSecretKeys).map((key) => ({ key, path: key })),
        },
      },
      { name: 'tmp', emptyDir: {} },
    ],
    // Spread across nodes by default, so one node going away never takes a whole Gateway with it.
    topologySpreadConstraints: config.pod.topologySpreadConstraints ?? [
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: selector },
      },
    ],
  };
  if (config.pod.nodeSelector) podSpec.nodeSelector = config.pod.nodeSelector;
  if (config.pod.tolerations) podSpec.tolerations = config.pod.tolerations;
  if (config.pod.affinity) podSpec.affinity = config.pod.affinity;
  return {
    ...meta(gw, 'Deployment'),
    spec: {
      // Left out when the HPA owns the count: server-side apply then gives the field up.
      ...(config.replicas !== undefined ? { replicas: config.replicas } : {}),
      selector: { matchLabels: selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } },
      template: { metadata: { labels: podLabels, annotations: podAnnotations }, spec: podSpec },
    },
  };
}
