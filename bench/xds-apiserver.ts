// End-to-end xDS benchmark on the real API server with the real operator process: N Gateways, each
// with 20 HTTPRoutes and 60 Services (+ EndpointSlices), one Delta ADS stream per Gateway over mTLS
// (certificates from the operator's CA). Measures the time from an HTTPRoute update written to the
// API server to the affected stream receiving the new RouteConfiguration (p50/p99 over the updates),
// how many other streams received anything meanwhile (must be 0), and the operator's RSS.
//
// Usage: node bench/xds-apiserver.ts [gateways=200] [updates=100]. Starts its own API server and
// etcd unless LEGATE_TEST_KUBECONFIG names a running one. Prints one JSON object.

import { readFileSync } from 'node:fs';
import type { KubernetesObject } from '@kubernetes/client-node';
import { TypeUrls } from '../operator/src/envoy/protos.ts';
import type { GatewayKey } from '../operator/src/xds/identity.ts';
import { testCluster } from '../test/harness/cluster.ts';
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

async function main(): Promise<void> {
  const gatewayCount = Number(process.argv[2] ?? 200);
  const updates = Number(process.argv[3] ?? 100);
  const suffix = uniqueSuffix();
  const ns = `bench-${suffix}`;
  const className = `bench-${suffix}`;
  const cluster = await testCluster();
  const kube = new Kube(cluster.kubeConfig());
  const { dir: caDir, ca, remove: removeCa } = await xdsCaFolder();
  const cleanups: (() => Promise<unknown> | unknown)[] = [removeCa, () => cluster.stop()];
  try {
    await kube.createNamespace(ns);
    cleanups.unshift(() => kube.core.deleteNamespace({ name: ns }).catch(() => undefined));
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
    cleanups.unshift(() => kube.objects.delete(objects[0] as KubernetesObject).catch(() => undefined));
    await pool(objects.slice(1), 16, (o) => kube.objects.create(o));
    const createMs = performance.now() - createStarted;

    const operator = startOperator({
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
    const latencies: number[] = [];
    for (let u = 0; u < updates; u++) {
      const g = (u * 37) % gatewayCount;
      current = `${ns}/gw-${g}`;
      const key = current;
      const received = clients.waitFor(
        (m): m is Extract<FromClients, { kind: 'response' }> =>
          m.kind === 'response' && m.gateway === key && m.typeUrl === TypeUrls.route,
        30_000,
      );
      const t0 = epochNow();
      await kube.apply(route(g, u % routesPerGateway, u + 1) as KubernetesObject);
      const { at } = await received;
      latencies.push(at - t0);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    current = undefined;
    // The operator's own share: watch event seen → response written (its push latency histogram).
    const metrics = await (await fetch(`http://127.0.0.1:${operator.metricsPort()}/metrics`)).text();
    const series = (name: string) =>
      Number(new RegExp(`^${name}\\{type="route"\\} (\\S+)`, 'm').exec(metrics)?.[1] ?? Number.NaN);
    const operatorMeanMs =
      (series('legate_xds_push_latency_seconds_sum') / series('legate_xds_push_latency_seconds_count')) * 1000;
    latencies.sort((a, b) => a - b);
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
          operatorSeenToPushRouteMeanMs: round(operatorMeanMs),
          unaffectedStreamPushes: unaffected,
          operatorRssMb: rssMb(operator.child.pid),
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
