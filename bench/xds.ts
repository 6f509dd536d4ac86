// xDS server benchmark: 200 Gateways x 20 HTTPRoutes x 60 Services, translated by the real
// translator and served by the real ADS server over mTLS (one client certificate per Gateway) to
// 200 Delta ADS streams in a separate process (as Envoy's bootstrap uses DELTA_GRPC). Measures the
// time from an HTTPRoute change (re-translate the Gateway, set its snapshot) to its stream receiving
// the new RouteConfiguration, how many other streams received anything meanwhile, and RSS.
//
// Not yet measured here: the Kubernetes watch path (API server → operator store), which the end-to-end
// benchmark adds once the operator serves xDS. Usage: node bench/xds.ts [gateways] [updates]
// Prints one JSON object.

import { TypeUrls } from '../operator/src/envoy/protos.ts';
import type { HTTPRoute } from '../operator/src/k8s/gateway-api.ts';
import { type TranslationInput, translateGateway } from '../operator/src/translate/index.ts';
import { gateway, httpRoute, service } from '../operator/src/translate/testing/fixtures.ts';
import { type GatewayKey, XdsCertificateAuthority, xdsServerCredentials } from '../operator/src/xds/identity.ts';
import { XdsServer } from '../operator/src/xds/server.ts';
import { type ClientPlan, epochNow, type FromClients, startClients } from './xds-clients.ts';

const routesPerGateway = 20;
const servicesPerGateway = 60;

// --- the server side (what the operator process does) --------------------------------------------

function routeObject(ns: string, r: number, weightShift: number): HTTPRoute {
  return httpRoute(ns, `route-${r}`, {
    parentRefs: [{ name: 'gw' }],
    rules: [
      {
        matches: [{ path: { type: 'PathPrefix', value: `/r${r}` } }],
        backendRefs: [0, 1, 2].map((b) => ({
          name: `svc-${(r * 3 + b) % servicesPerGateway}`,
          port: 8080,
          weight: b === 0 ? 10 + weightShift : 10,
        })),
      },
    ],
  });
}

/** One Gateway's objects, as the operator's store would hold them. */
function gatewayInput(ns: string): TranslationInput {
  const services = Array.from({ length: servicesPerGateway }, (_, s) =>
    service(ns, `svc-${s}`, 8080, [`10.${s}.0.1`, `10.${s}.0.2`]),
  );
  return {
    gateways: [gateway(ns, 'gw', [{ name: 'http', port: 80, protocol: 'HTTP' }])],
    httpRoutes: Array.from({ length: routesPerGateway }, (_, r) => routeObject(ns, r, 0)),
    services: services.map(([svc]) => svc),
    endpointSlices: services.map(([, slice]) => slice),
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const gatewayCount = Number(process.argv[2] ?? 200);
  const updates = Number(process.argv[3] ?? 100);
  const started = performance.now();

  const ca = await XdsCertificateAuthority.create();
  const server = await XdsServer.start({
    port: 0,
    credentials: xdsServerCredentials(await ca.issueServerCertificate({ dns: ['localhost'] })),
  });

  const inputs = new Map<string, TranslationInput>();
  const plans: ClientPlan[] = [];
  const publish = (ns: string, seenAt?: number) => {
    const key: GatewayKey = `${ns}/gw`;
    let input = inputs.get(ns);
    if (!input) {
      input = gatewayInput(ns);
      inputs.set(ns, input);
    }
    const t = translateGateway(input, key);
    if (!t || t.errors.length > 0) throw new Error(`translation of ${key} failed: ${t?.errors.join('; ')}`);
    server.setSnapshot(key, t.resources, { proxylessListeners: t.proxylessListeners, ...(seenAt ? { seenAt } : {}) });
    return t;
  };
  let resourceCount = 0;
  for (let g = 0; g < gatewayCount; g++) {
    const ns = `team-${g}`;
    const t = publish(ns);
    resourceCount += Object.values(t.resources).reduce((n, list) => n + (list?.length ?? 0), 0);
    plans.push({
      gateway: `${ns}/gw`,
      cert: await ca.issueGatewayCertificate(`${ns}/gw`),
      routeNames: (t.resources[TypeUrls.route] ?? []).map((r) => r.name),
      endpointNames: (t.resources[TypeUrls.endpoint] ?? []).map((r) => r.name),
    });
  }
  server.markSynced();
  const loadedMs = performance.now() - started;

  const connectStarted = performance.now();
  const clients = startClients(server.port, plans);
  await clients.waitFor((m): m is FromClients => m.kind === 'ready');
  const initialSyncMs = performance.now() - connectStarted;
  await new Promise((resolve) => setTimeout(resolve, 1000));

  let current: GatewayKey | undefined;
  let unaffected = 0;
  clients.onMessage((m) => {
    if (m.kind === 'response' && current !== undefined && m.gateway !== current) unaffected++;
  });
  const latencies: number[] = [];
  const translateMs: number[] = [];
  const warmup = 5; // first updates run cold code paths (JIT); they are not counted
  for (let u = -warmup; u < updates; u++) {
    const ns = `team-${((u + warmup) * 37) % gatewayCount}`;
    current = `${ns}/gw`;
    // The watch delivered a changed HTTPRoute: the store replaces that one object.
    const input = inputs.get(ns)!;
    const r = (u + warmup) % routesPerGateway;
    input.httpRoutes = input.httpRoutes!.map((route, i) => (i === r ? routeObject(ns, r, u + warmup + 1) : route));
    const key = current;
    const received = clients.waitFor(
      (m): m is Extract<FromClients, { kind: 'response' }> =>
        m.kind === 'response' && m.gateway === key && m.typeUrl === TypeUrls.route,
      10_000,
    );
    const t0 = epochNow();
    publish(ns, performance.now());
    translateMs.push(epochNow() - t0);
    const { at } = await received;
    if (u < 0) {
      translateMs.pop();
      continue;
    }
    latencies.push(at - t0);
  }
  // Late pushes to other streams would show up here.
  await new Promise((resolve) => setTimeout(resolve, 500));
  current = undefined;

  latencies.sort((a, b) => a - b);
  // legate_xds_push_latency_seconds for routes: change seen → response written (translation included).
  const histogram = (await server.metrics.pushLatency.get()).values;
  const sumOf = (name: string) =>
    histogram.filter((v) => v.metricName === name && v.labels.type === 'route').reduce((n, v) => n + v.value, 0);
  const serverRouteMeanMs =
    (sumOf('legate_xds_push_latency_seconds_sum') / sumOf('legate_xds_push_latency_seconds_count')) * 1000;
  const memory = process.memoryUsage();
  const round = (n: number) => Math.round(n * 100) / 100;
  console.log(
    JSON.stringify(
      {
        benchmark: 'xds-server',
        gateways: gatewayCount,
        routesPerGateway,
        servicesPerGateway,
        resources: resourceCount,
        streams: gatewayCount,
        protocol: 'delta',
        mtls: true,
        updates,
        routeUpdateToRdsMs: {
          p50: round(percentile(latencies, 50)),
          p99: round(percentile(latencies, 99)),
          max: round(latencies.at(-1) ?? Number.NaN),
        },
        translateAndSetSnapshotMs: {
          p50: round(
            percentile(
              translateMs.sort((a, b) => a - b),
              50,
            ),
          ),
          p99: round(percentile(translateMs, 99)),
        },
        pushLatencyHistogramRouteMeanMs: round(serverRouteMeanMs), // seen → written, translation included
        unaffectedStreamPushes: unaffected,
        serverRssMb: round(memory.rss / 2 ** 20),
        serverHeapUsedMb: round(memory.heapUsed / 2 ** 20),
        loadMs: Math.round(loadedMs),
        initialSyncMs: Math.round(initialSyncMs),
        node: process.version,
      },
      null,
      2,
    ),
  );
  clients.stop();
  await server.stop();
}

await main();
