// The load the end-to-end benchmarks share (bench/xds-apiserver.ts, bench/envoy-propagation.ts): N
// Gateways, each with 20 HTTPRoutes and 60 Services (+ EndpointSlices), in one namespace of the real
// API server, served by the real operator process inside the chart's memory limit, and one Delta ADS
// stream per Gateway over mTLS (bench/xds-clients.ts). Also the measuring helpers both use.
//
// Starts its own API server and etcd unless LEGATE_TEST_KUBECONFIG names a running one. Creating the
// objects of 200 Gateways takes minutes; with LEGATE_BENCH_NAMESPACE=<name> (and a running API
// server) they are made once in that namespace, kept, and reused by later runs.

import { readFileSync } from 'node:fs';
import https from 'node:https';
import { CustomObjectsApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { listPages } from '../operator/src/controller/list-pages.ts';
import { TypeUrls } from '../operator/src/envoy/protos.ts';
import type { HTTPRoute } from '../operator/src/k8s/gateway-api.ts';
import type { GatewayKey, XdsCertificateAuthority } from '../operator/src/xds/identity.ts';
import { type TestCluster, testCluster } from '../test/harness/cluster.ts';
import { chartOperatorMemoryLimit, memoryLimit, quantityBytes } from '../test/harness/memory-limit.ts';
import {
  eventually,
  Kube,
  type OperatorProcess,
  startOperator,
  uniqueSuffix,
  xdsCaFolder,
} from '../test/integration/operator-helpers.ts';
import { type ClientPlan, type Clients, type FromClients, startClients } from './xds-clients.ts';

export const routesPerGateway = 20;
export const servicesPerGateway = 60;

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export const round = (n: number): number => Math.round(n * 100) / 100;

/** p50, p99 and max of samples (ms), rounded. */
export function summary(samples: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1) ?? Number.NaN),
  };
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

export function rssMb(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

/**
 * Server-side applies of one object kind over one kept-alive HTTPS connection. The timed update is
 * sent this way, not through client-node, whose own per-request work (~15 ms here) is the writer's
 * cost, not part of "update in the API server → RDS at the proxy".
 */
export async function keptAliveApplier(kc: KubeConfig, plural: string) {
  const server = new URL(kc.getCurrentCluster()?.server ?? '');
  const options: https.RequestOptions = { agent: new https.Agent({ keepAlive: true, maxSockets: 1 }) };
  await kc.applyToHTTPSOptions(options);
  return (obj: KubernetesObject) =>
    new Promise<void>((resolve, reject) => {
      const { namespace, name } = obj.metadata ?? {};
      const [group, version] = obj.apiVersion?.split('/') ?? [];
      const req = https.request(
        {
          ...options,
          method: 'PATCH',
          host: server.hostname,
          port: server.port,
          path: `/apis/${group}/${version}/namespaces/${namespace}/${plural}/${name}?fieldManager=legate-test&force=true`,
          headers: { ...options.headers, 'content-type': 'application/apply-patch+yaml' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            res.statusCode === 200
              ? resolve()
              : reject(new Error(`apply ${name}: ${res.statusCode} ${Buffer.concat(chunks)}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(obj));
    });
}

export interface LatencyHistogram {
  /** Cumulative counts per bucket upper bound (seconds), as Prometheus exposes them. */
  buckets: Map<number, number>;
  sum: number;
  count: number;
}

/**
 * The operator's RDS push latency histogram; given an earlier reading, the mean and the bucket bound
 * holding the 99th percentile of what happened since (ms).
 */
export async function operatorPushLatency(port: number): Promise<LatencyHistogram>;
export async function operatorPushLatency(
  port: number,
  since: LatencyHistogram,
): Promise<{ mean: number; p99AtMost: number }>;
export async function operatorPushLatency(port: number, since?: LatencyHistogram) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const name = 'legate_xds_push_latency_seconds';
  const now: LatencyHistogram = { buckets: new Map(), sum: 0, count: 0 };
  for (const [, le, value] of text.matchAll(
    new RegExp(`^${name}_bucket\\{le="([^"]+)",type="route"\\} (\\S+)`, 'gm'),
  )) {
    now.buckets.set(le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), Number(value));
  }
  now.sum = Number(new RegExp(`^${name}_sum\\{type="route"\\} (\\S+)`, 'm').exec(text)?.[1] ?? 0);
  now.count = Number(new RegExp(`^${name}_count\\{type="route"\\} (\\S+)`, 'm').exec(text)?.[1] ?? 0);
  if (!since) return now;
  const count = now.count - since.count;
  const bound = [...now.buckets].find(([le, n]) => n - (since.buckets.get(le) ?? 0) >= 0.99 * count)?.[0];
  return {
    mean: Math.round(((now.sum - since.sum) / count) * 1e5) / 100,
    p99AtMost: (bound ?? Number.NaN) * 1000,
  };
}

export interface LoadOptions {
  gatewayCount: number;
  /** Extra operator arguments (for example operatorXdsArgs() when Envoy pods must reach it). */
  operatorArgs?: string[];
}

export interface Load {
  readonly cluster: TestCluster;
  readonly kube: Kube;
  readonly namespace: string;
  readonly gatewayCount: number;
  /** Objects in the load (GatewayClass included). */
  readonly objectCount: number;
  readonly operator: OperatorProcess;
  readonly ca: XdsCertificateAuthority;
  /** Whether the objects were kept from an earlier run (LEGATE_BENCH_NAMESPACE). */
  readonly reused: boolean;
  /** Whether the operator runs inside the chart's memory limit. */
  readonly memoryLimited: boolean;
  /**
   * A weight shift no object of the namespace has: 0 for fresh objects, otherwise a clock-derived
   * number, so route(g, r, base + k) for k ≥ 1 is always a real change.
   */
  readonly base: number;
  /** HTTPRoute `gw-<g>-route-<r>`; `shift` changes its first backend's weight. */
  route(g: number, r: number, shift: number): KubernetesObject;
  createObjectsMs: number;
  /** The one raw Delta stream per Gateway, and how long they took to receive every type. */
  clients: Clients;
  initialSyncMs: number;
  /**
   * Operator start → every HTTPRoute's status written for its generation (the start-up backlog of
   * status writes drained). Measurements begin after it, so none waits behind that backlog.
   */
  routeStatusSettledMs: number;
  /** Resolves with the next RouteConfiguration response the raw stream of `gateway` receives. */
  routeReceived(gateway: GatewayKey, timeoutMs?: number): Promise<Extract<FromClients, { kind: 'response' }>>;
  /** Resolves when the operator has written the status of `route` for its current generation. */
  statusWritten(routeName: string, timeoutMs?: number): Promise<void>;
  /** Runs when the load stops (first added, last run). */
  onStop(cleanup: () => Promise<unknown> | unknown): void;
  stop(): Promise<void>;
}

/** Creates (or reuses) the objects, starts the operator and the raw streams, and waits for their full config. */
export async function startLoad(options: LoadOptions): Promise<Load> {
  const { gatewayCount } = options;
  const suffix = uniqueSuffix();
  const kept = process.env.LEGATE_BENCH_NAMESPACE;
  const ns = kept ?? `bench-${suffix}`;
  const className = ns;
  const cluster = await testCluster();
  const kube = new Kube(cluster.kubeConfig());
  const { dir: caDir, ca, remove: removeCa } = await xdsCaFolder();
  const cleanups: (() => Promise<unknown> | unknown)[] = [removeCa, () => cluster.stop()];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  };
  try {
    const reuse =
      kept !== undefined &&
      (await kube.core.readNamespace({ name: ns }).then(
        () => true,
        () => false,
      ));
    if (!reuse) await kube.createNamespace(ns);
    if (!kept) cleanups.unshift(() => kube.core.deleteNamespace({ name: ns }).catch(() => undefined));
    // Kept objects carry an earlier run's weights: start from one no run is likely to have used
    // (at most 10 + 900,000 + updates, within the Gateway API's 1,000,000).
    const base = reuse ? (Date.now() % 900_000) + 1 : 0;
    const route = (g: number, r: number, shift: number) =>
      ({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { namespace: ns, name: `gw-${g}-route-${r}` },
        spec: {
          parentRefs: [{ name: `gw-${g}` }],
          rules: [
            {
              matches: [{ path: { type: 'PathPrefix', value: `/r${r}` } }],
              backendRefs: [0, 1, 2].map((b) => ({
                name: `gw-${g}-svc-${(r * 3 + b) % servicesPerGateway}`,
                port: 8080,
                weight: b === 0 ? 10 + shift : 10,
              })),
            },
          ],
        },
      }) as KubernetesObject;
    const objects: KubernetesObject[] = [
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'GatewayClass',
        metadata: { name: className },
        spec: { controllerName: `legate.dev/${className}` },
      } as KubernetesObject,
    ];
    for (let g = 0; g < gatewayCount; g++) {
      objects.push({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'Gateway',
        metadata: { namespace: ns, name: `gw-${g}` },
        spec: { gatewayClassName: className, listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
      } as KubernetesObject);
      for (let s = 0; s < servicesPerGateway; s++) {
        const name = `gw-${g}-svc-${s}`;
        objects.push({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { namespace: ns, name },
          spec: { ports: [{ name: 'http', port: 8080 }] },
        } as KubernetesObject);
        // Addresses in the test range (198.18.0.0/15): no request is ever sent to them, and a real
        // Envoy holding these clusters must never be able to reach a private or public network.
        objects.push({
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { namespace: ns, name: `${name}-1`, labels: { 'kubernetes.io/service-name': name } },
          addressType: 'IPv4',
          ports: [{ name: 'http', port: 8080 }],
          endpoints: [
            { addresses: [`198.19.${g % 250}.${s * 2 + 1}`], conditions: { ready: true } },
            { addresses: [`198.19.${g % 250}.${s * 2 + 2}`], conditions: { ready: true } },
          ],
        } as KubernetesObject);
      }
      for (let r = 0; r < routesPerGateway; r++) objects.push(route(g, r, 0));
    }
    const createStarted = performance.now();
    await kube.apply(objects[0] as KubernetesObject);
    if (!kept) cleanups.unshift(() => kube.objects.delete(objects[0] as KubernetesObject).catch(() => undefined));
    if (!reuse) await pool(objects.slice(1), 16, (o) => kube.objects.create(o));
    const createObjectsMs = Math.round(performance.now() - createStarted);

    // The operator runs inside the chart's container memory limit, so Node sizes its heap as it does
    // in the Deployment (where there is no writable memory cgroup, it runs unlimited and says so).
    const customObjects = cluster.kubeConfig().makeApiClient(CustomObjectsApi);
    const routeStatusPending = async () => {
      const routes = (await listPages(
        kube.objects,
        { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', plural: 'httproutes' },
        ns,
        undefined,
        customObjects,
      )) as unknown as HTTPRoute[];
      return routes.filter((r) => r.status?.parents?.[0]?.conditions?.[0]?.observedGeneration !== r.metadata.generation)
        .length;
    };

    const limit = memoryLimit(quantityBytes(chartOperatorMemoryLimit()), `legate-bench-${suffix}`);
    if (limit) cleanups.unshift(() => limit.remove());
    const operatorStarted = performance.now();
    const operator = startOperator({
      memoryLimit: limit,
      kubeconfigPath: cluster.kubeconfigPath,
      namespace: ns,
      controllerName: `legate.dev/${className}`,
      leaseName: className,
      identity: 'bench',
      extraArgs: [
        '--leader-elect',
        'false',
        '--xds-ca-dir',
        caDir,
        '--log-level',
        'info',
        ...(options.operatorArgs ?? []),
      ],
    });
    cleanups.unshift(() => operator.stop());
    const listening = await eventually(
      'the xDS server to listen',
      async () => operator.logs.find((l) => l.msg === 'xds server listening'),
      120_000,
    );
    const plans: ClientPlan[] = [];
    for (let g = 0; g < gatewayCount; g++) {
      const gateway: GatewayKey = `${ns}/gw-${g}`;
      plans.push({ gateway, cert: await ca.issueGatewayCertificate(gateway) });
    }
    const syncStarted = performance.now();
    const clients = startClients(listening.port as number, plans);
    cleanups.unshift(() => clients.stop());
    await clients.waitFor((m): m is FromClients => m.kind === 'ready', 600_000);
    const initialSyncMs = Math.round(performance.now() - syncStarted);
    await eventually(
      'every HTTPRoute status to be written',
      async () => ((await routeStatusPending()) === 0 ? true : undefined),
      1_800_000,
      2000,
    );
    const routeStatusSettledMs = Math.round(performance.now() - operatorStarted);
    return {
      cluster,
      kube,
      namespace: ns,
      gatewayCount,
      objectCount: objects.length,
      operator,
      ca,
      reused: reuse,
      memoryLimited: limit !== undefined,
      base,
      route,
      createObjectsMs,
      clients,
      initialSyncMs,
      routeStatusSettledMs,
      routeReceived: (gateway, timeoutMs = 30_000) =>
        clients.waitFor(
          (m): m is Extract<FromClients, { kind: 'response' }> =>
            m.kind === 'response' && m.gateway === gateway && m.typeUrl === TypeUrls.route,
          timeoutMs,
        ),
      async statusWritten(routeName, timeoutMs = 30_000) {
        await eventually(
          `the status of ${routeName} for its new generation`,
          async () => {
            const current = await kube.get<HTTPRoute>('gateway.networking.k8s.io/v1', 'HTTPRoute', ns, routeName);
            const observed = current?.status?.parents?.[0]?.conditions?.[0]?.observedGeneration;
            return observed === current?.metadata.generation || undefined;
          },
          timeoutMs,
          10,
        );
      },
      onStop: (cleanup) => cleanups.unshift(cleanup),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
