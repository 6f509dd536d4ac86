// Translation benchmark: 4,000 HTTPRoutes across 200 Gateways (20 routes each, 3 rules per route,
// 10 Services with 3 endpoints per namespace). Prints the time of a full translation and of the
// re-translation of one Gateway after one route changes.
//
//   node_modules/.bin/node bench/translate.ts [gateways=200] [routesPerGateway=20]

import { performance } from 'node:perf_hooks';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { envoyRoot } from '../operator/src/envoy/protos.ts';
import type { Gateway, HTTPRoute } from '../operator/src/k8s/gateway-api.ts';
import type { TranslationInput } from '../operator/src/translate/index.ts';
import { affectedGateways, indexInput, translate, translateGateway } from '../operator/src/translate/index.ts';

const GATEWAYS = Number(process.argv[2] ?? 200);
const ROUTES_PER_GATEWAY = Number(process.argv[3] ?? 20);
const SERVICES_PER_NS = 10;

function build(): TranslationInput & { httpRoutes: HTTPRoute[] } {
  const gateways: Gateway[] = [];
  const httpRoutes: HTTPRoute[] = [];
  const services: V1Service[] = [];
  const endpointSlices: V1EndpointSlice[] = [];
  for (let g = 0; g < GATEWAYS; g++) {
    const ns = `team-${g}`;
    gateways.push({
      metadata: { namespace: ns, name: 'gw', generation: 1 },
      spec: {
        gatewayClassName: 'legate',
        listeners: [{ name: 'http', port: 80, protocol: 'HTTP', hostname: `*.${ns}.example.com` }],
      },
    });
    for (let s = 0; s < SERVICES_PER_NS; s++) {
      services.push({ metadata: { namespace: ns, name: `svc-${s}` }, spec: { ports: [{ name: 'http', port: 80 }] } });
      endpointSlices.push({
        metadata: { namespace: ns, name: `svc-${s}-1`, labels: { 'kubernetes.io/service-name': `svc-${s}` } },
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 8080 }],
        endpoints: [1, 2, 3].map((i) => ({
          addresses: [`10.${g % 250}.${s}.${i}`],
          conditions: { ready: true },
          zone: `z${i}`,
        })),
      });
    }
    for (let r = 0; r < ROUTES_PER_GATEWAY; r++) {
      httpRoutes.push(route(ns, r, 1));
    }
  }
  return { gateways, httpRoutes, services, endpointSlices };
}

function route(ns: string, r: number, version: number): HTTPRoute {
  return {
    metadata: { namespace: ns, name: `route-${r}`, generation: version, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: {
      parentRefs: [{ name: 'gw' }],
      hostnames: [`app-${r % 5}.${ns}.example.com`],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: `/api/${r}` } }],
          filters: [
            { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-route', value: `${r}` }] } },
          ],
          backendRefs: [
            { name: `svc-${r % SERVICES_PER_NS}`, port: 80, weight: 90 },
            { name: `svc-${(r + 1) % SERVICES_PER_NS}`, port: 80, weight: 10 * version },
          ],
        },
        {
          matches: [{ path: { type: 'Exact', value: `/exact/${r}` }, headers: [{ name: 'x-v', value: '2' }] }],
          backendRefs: [{ name: `svc-${(r + 2) % SERVICES_PER_NS}`, port: 80 }],
        },
        {
          matches: [{ path: { type: 'PathPrefix', value: `/old/${r}` } }],
          filters: [
            { type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/new' } } },
          ],
          backendRefs: [{ name: `svc-${(r + 3) % SERVICES_PER_NS}`, port: 80 }],
        },
      ],
    },
  };
}

function ms(start: number): string {
  return `${(performance.now() - start).toFixed(1)} ms`;
}

/** CPU time (user + system) since `start`: what the work costs even when other processes share the cores. */
function cpuMs(start: NodeJS.CpuUsage): string {
  const d = process.cpuUsage(start);
  return `${((d.user + d.system) / 1000).toFixed(1)} ms CPU`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

let t = performance.now();
envoyRoot();
console.log(`load Envoy protos (once per process):        ${ms(t)}`);
const input = build();
console.log(
  `input: ${input.gateways?.length} Gateways, ${input.httpRoutes.length} HTTPRoutes, ${input.services?.length} Services`,
);

for (const label of ['full translation (cold)', 'full translation (warm)', 'full translation (warm)']) {
  t = performance.now();
  const cpu = process.cpuUsage();
  const result = translate(input);
  const took = `${ms(t)} (${cpuMs(cpu)})`;
  let resources = 0;
  let bytes = 0;
  for (const g of result.gateways.values()) {
    for (const list of Object.values(g.resources)) {
      resources += list?.length ?? 0;
      for (const r of list ?? []) bytes += r.bytes.length;
    }
  }
  console.log(
    `${label.padEnd(45)} ${took}  (${result.gateways.size} Gateways, ${resources} resources, ${(bytes / 1e6).toFixed(1)} MB)`,
  );
}

// One route changes: find the Gateways it affects and re-translate only those.
const index = indexInput(input);
const incremental: number[] = [];
const incrementalCpu: number[] = [];
const reindexAndTranslate: number[] = [];
for (let i = 0; i < 50; i++) {
  const ns = `team-${(i * 7) % GATEWAYS}`;
  const changed = route(ns, i % ROUTES_PER_GATEWAY, 2 + i);
  const routes = input.httpRoutes.map((r) =>
    r.metadata.namespace === ns && r.metadata.name === changed.metadata.name ? changed : r,
  );
  const next = { ...input, httpRoutes: routes };
  // (a) The index is kept up to date by the caller (the controller's store): translate one Gateway.
  const nextIndex = { ...index, routesByGateway: new Map(index.routesByGateway) };
  const key = `${ns}/gw`;
  nextIndex.routesByGateway.set(
    key,
    (index.routesByGateway.get(key) ?? []).map((r) =>
      r.route.metadata.name === changed.metadata.name ? { kind: 'HTTPRoute' as const, route: changed } : r,
    ),
  );
  t = performance.now();
  const cpu = process.cpuUsage();
  for (const k of affectedGateways(nextIndex, { kind: 'HTTPRoute', object: changed })) translateGateway(nextIndex, k);
  incremental.push(performance.now() - t);
  const c = process.cpuUsage(cpu);
  incrementalCpu.push((c.user + c.system) / 1000);
  // (b) Worst case: rebuild the whole index from the snapshot, then translate the one Gateway.
  t = performance.now();
  const rebuilt = indexInput(next);
  for (const k of affectedGateways(rebuilt, { kind: 'HTTPRoute', object: changed })) translateGateway(rebuilt, k);
  reindexAndTranslate.push(performance.now() - t);
}
console.log(
  `one-route change, re-translate its Gateway:    median ${median(incremental).toFixed(2)} ms (${median(incrementalCpu).toFixed(2)} ms CPU), max ${Math.max(...incremental).toFixed(2)} ms`,
);
console.log(
  `same, rebuilding the whole index first:        median ${median(reindexAndTranslate).toFixed(2)} ms, max ${Math.max(...reindexAndTranslate).toFixed(2)} ms`,
);
