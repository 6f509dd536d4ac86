// End-to-end xDS benchmark on the real API server with the real operator process: N Gateways, each
// with 20 HTTPRoutes and 60 Services (+ EndpointSlices), one Delta ADS stream per Gateway over mTLS
// (certificates from the operator's CA). Measures the time from an HTTPRoute update written to the
// API server to the affected stream receiving the new RouteConfiguration (p50/p99 over the updates),
// how many other streams received anything meanwhile (must be 0), and the operator's RSS.
//
// Usage: node bench/xds-apiserver.ts [gateways=200] [updates=100]. Starts its own API server and
// etcd unless LEGATE_TEST_KUBECONFIG names a running one. Prints one JSON object.
// Creating the 28,201 objects takes minutes; with LEGATE_BENCH_NAMESPACE=<name> (and a running API
// server) the objects are made once in that namespace, kept, and reused by later runs.

import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { TypeUrls } from '../operator/src/envoy/protos.ts';
import type { HTTPRoute } from '../operator/src/k8s/gateway-api.ts';
import type { GatewayKey } from '../operator/src/xds/identity.ts';
import { testCluster } from '../test/harness/cluster.ts';
import { chartOperatorMemoryLimit, memoryLimit, quantityBytes } from '../test/harness/memory-limit.ts';
import { eventually, Kube, startOperator, uniqueSuffix, xdsCaFolder } from '../test/integration/operator-helpers.ts';
import { type ClientPlan, epochNow, type FromClients, startClients } from './xds-clients.ts';

const routesPerGateway = 20;
const servicesPerGateway = 60;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

function rssMb(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

/**
 * Server-side applies of one object kind over one kept-alive HTTPS connection. The timed update is
 * sent this way, not through client-node, whose own per-request work (~15 ms here) is the writer's
 * cost, not part of "update in the API server → RDS at the proxy".
 */
async function keptAliveApplier(kc: KubeConfig, plural: string) {
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

interface LatencyHistogram {
  /** Cumulative counts per bucket upper bound (seconds), as Prometheus exposes them. */
  buckets: Map<number, number>;
  sum: number;
  count: number;
}

/**
 * The operator's RDS push latency histogram; given an earlier reading, the mean and the bucket bound
 * holding the 99th percentile of what happened since (ms).
 */
async function operatorPushLatency(port: number): Promise<LatencyHistogram>;
async function operatorPushLatency(port: number, since: LatencyHistogram): Promise<{ mean: number; p99AtMost: number }>;
async function operatorPushLatency(port: number, since?: LatencyHistogram) {
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

async function main(): Promise<void> {
  const gatewayCount = Number(process.argv[2] ?? 200);
  const updates = Number(process.argv[3] ?? 100);
  const suffix = uniqueSuffix();
  const kept = process.env.LEGATE_BENCH_NAMESPACE;
  const ns = kept ?? `bench-${suffix}`;
  const className = ns;
  const cluster = await testCluster();
  const kube = new Kube(cluster.kubeConfig());
  const { dir: caDir, ca, remove: removeCa } = await xdsCaFolder();
  const cleanups: (() => Promise<unknown> | unknown)[] = [removeCa, () => cluster.stop()];
  try {
    const reuse =
      kept !== undefined &&
      (await kube.core.readNamespace({ name: ns }).then(
        () => true,
        () => false,
      ));
    if (!reuse) await kube.createNamespace(ns);
    if (!kept) cleanups.unshift(() => kube.core.deleteNamespace({ name: ns }).catch(() => undefined));
    // Route weights differ from every earlier run's, so each update is a real change.
    const base = reuse ? Date.now() % 1_000_000 : 0;
    const route = (g: number, r: number, shift: number) => ({
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
    });
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
        objects.push({
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { namespace: ns, name: `${name}-1`, labels: { 'kubernetes.io/service-name': name } },
          addressType: 'IPv4',
          ports: [{ name: 'http', port: 8080 }],
          endpoints: [
            { addresses: [`10.${g % 250}.${s}.1`], conditions: { ready: true } },
            { addresses: [`10.${g % 250}.${s}.2`], conditions: { ready: true } },
          ],
        } as KubernetesObject);
      }
      for (let r = 0; r < routesPerGateway; r++) objects.push(route(g, r, 0) as KubernetesObject);
    }
    const createStarted = performance.now();
    await kube.apply(objects[0] as KubernetesObject);
    if (!kept) cleanups.unshift(() => kube.objects.delete(objects[0] as KubernetesObject).catch(() => undefined));
    if (!reuse) await pool(objects.slice(1), 16, (o) => kube.objects.create(o));
    const createMs = performance.now() - createStarted;

    // The operator runs inside the chart's container memory limit, so Node sizes its heap as it does
    // in the Deployment (where there is no writable memory cgroup, it runs unlimited and says so).
    const limit = memoryLimit(quantityBytes(chartOperatorMemoryLimit()), `legate-bench-${suffix}`);
    if (limit) cleanups.unshift(() => limit.remove());
    const operator = startOperator({
      memoryLimit: limit,
      kubeconfigPath: cluster.kubeconfigPath,
      namespace: ns,
      controllerName: `legate.dev/${className}`,
      leaseName: className,
      identity: 'bench',
      extraArgs: ['--leader-elect', 'false', '--xds-ca-dir', caDir, '--log-level', 'info'],
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
    const initialSyncMs = performance.now() - syncStarted;
    await new Promise((resolve) => setTimeout(resolve, 2000));

    let current: GatewayKey | undefined;
    let unaffected = 0;
    clients.onMessage((m) => {
      if (m.kind === 'response' && current !== undefined && m.gateway !== current) unaffected++;
    });
    const applyRoute = await keptAliveApplier(cluster.kubeConfig(), 'httproutes');
    const routeReceived = (gateway: GatewayKey) =>
      clients.waitFor(
        (m): m is Extract<FromClients, { kind: 'response' }> =>
          m.kind === 'response' && m.gateway === gateway && m.typeUrl === TypeUrls.route,
        30_000,
      );
    // Opens the connection with an update of gw-0 whose push is awaited, so it is not counted later.
    const warmed = routeReceived(`${ns}/gw-0`);
    await applyRoute(route(0, 1, base) as KubernetesObject);
    await warmed;
    const statusWritten = (g: number, r: number) =>
      eventually(
        'the route status for its new generation',
        async () => {
          const current = await kube.get<HTTPRoute>(
            'gateway.networking.k8s.io/v1',
            'HTTPRoute',
            ns,
            `gw-${g}-route-${r}`,
          );
          const observed = current?.status?.parents?.[0]?.conditions?.[0]?.observedGeneration;
          return observed === current?.metadata.generation || undefined;
        },
        30_000,
        10,
      );
    const before = await operatorPushLatency(operator.metricsPort());
    const latencies: number[] = [];
    /** The API server's share: the apply request's round trip. */
    const applied: number[] = [];
    for (let u = 0; u < updates; u++) {
      const g = (u * 37) % gatewayCount;
      current = `${ns}/gw-${g}`;
      const key = current;
      const received = routeReceived(key);
      const t0 = epochNow();
      await applyRoute(route(g, u % routesPerGateway, base + u + 1) as KubernetesObject);
      applied.push(epochNow() - t0);
      const { at } = await received;
      latencies.push(at - t0);
      // One update at a time: the operator's status write for this one lands before the next begins,
      // so each sample is a single update, not one queued behind the previous update's writes.
      await statusWritten(g, u % routesPerGateway);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    current = undefined;
    // The operator's own share during the updates: watch event seen → response written.
    const operatorShare = operatorPushLatency(operator.metricsPort(), before);
    latencies.sort((a, b) => a - b);
    applied.sort((a, b) => a - b);
    const round = (n: number) => Math.round(n * 100) / 100;
    console.log(
      JSON.stringify(
        {
          benchmark: 'xds-apiserver',
          gateways: gatewayCount,
          routesPerGateway,
          servicesPerGateway,
          objects: objects.length,
          streams: gatewayCount,
          protocol: 'delta',
          mtls: true,
          updates,
          httpRouteUpdateToRdsMs: {
            p50: round(percentile(latencies, 50)),
            p99: round(percentile(latencies, 99)),
            max: round(latencies.at(-1) ?? Number.NaN),
          },
          applyRoundTripMs: { p50: round(percentile(applied, 50)), p99: round(percentile(applied, 99)) },
          operatorSeenToPushRouteMs: await operatorShare,
          unaffectedStreamPushes: unaffected,
          operatorRssMb: rssMb(operator.child.pid),
          operatorMemoryLimit: limit ? chartOperatorMemoryLimit() : null,
          createObjectsMs: Math.round(createMs),
          initialSyncMs: Math.round(initialSyncMs),
          node: process.version,
        },
        null,
        2,
      ),
    );
  } finally {
    for (const cleanup of cleanups) await cleanup();
  }
}

await main();
