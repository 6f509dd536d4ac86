// Propagation measured at the proxy: the time from an HTTPRoute write to the API server to the first
// request a real Envoy serves with the new config, beside the time to RDS received on the same update.
//
// Load (bench/apiserver-load.ts): N Gateways × 20 HTTPRoutes × 60 Services on the real API server,
// the real operator process inside the chart's memory limit, one raw mTLS Delta ADS stream per Gateway.
// On top, for each measured Gateway: a real Envoy 1.40 pod run from the Deployment, ConfigMap and xDS
// Secret the operator applied (test/harness/envoy.ts), one more HTTPRoute (`gw-<g>-probe`, PathPrefix
// /probe) to an echo backend in a test host, and a kept-alive HTTP connection to the pod.
//
// Each update (one at a time) sets a new value of the request header `x-bench-version` in the probe
// route's RequestHeaderModifier: an RDS-only change (same clusters, same listener) that the echo
// backend makes visible. The clock starts just before the server-side apply is written (on a
// kept-alive HTTPS connection); from then Envoy is asked for /probe at most every 2 ms (at most 10 s)
// until the echo backend reports the new value. Per update it records:
// - write → first served: when the first response carrying the new value arrived;
// - write → RDS received: when the raw Delta stream of the same Gateway (another node of it, in
//   bench/xds-clients.ts) received the RouteConfiguration push;
// - write → RDS applied in Envoy: the `last_updated` of the route configuration in Envoy's
//   /config_dump (Envoy's wall clock, millisecond resolution).
//
// With --lds, every update also adds or removes a CORS filter on the probe route, which adds or removes
// Envoy's CORS HTTP filter in the listener's HttpConnectionManager: each update is then a Listener
// change (Envoy warms a new listener and drains the old one) as well as a RouteConfiguration change,
// and write → LDS received is recorded too.
//
// Usage: node bench/envoy-propagation.ts [gateways=200] [updates=60] [envoys=1] [--lds]
// (`npm run bench:propagation -- 10 50` for a quick run). Needs root (network and mount namespaces).
// Starts its own API server and etcd unless LEGATE_TEST_KUBECONFIG names a running one;
// LEGATE_BENCH_NAMESPACE=<name> keeps the objects for later runs. Prints one JSON object.

import http from 'node:http';
import os from 'node:os';
import type { KubernetesObject } from '@kubernetes/client-node';
import { TypeUrls } from '../operator/src/envoy/protos.ts';
import { managedName, xdsSecretName } from '../operator/src/infra/names.ts';
import type { GatewayKey } from '../operator/src/xds/identity.ts';
import type { EchoResponse } from '../test/harness/echo-backend.ts';
import { type EnvoyPod, envoyBinary, operatorXdsArgs, startGatewayEnvoy } from '../test/harness/envoy.ts';
import { chartOperatorMemoryLimit } from '../test/harness/memory-limit.ts';
import { startTestHost } from '../test/harness/netns.ts';
import { eventually } from '../test/integration/operator-helpers.ts';
import {
  keptAliveApplier,
  type LatencyHistogram,
  operatorPushLatency,
  round,
  routesPerGateway,
  rssMb,
  servicesPerGateway,
  startLoad,
  summary,
} from './apiserver-load.ts';
import { epochNow, type FromClients } from './xds-clients.ts';

const pollEveryMs = 2;
const giveUpAfterMs = 10_000;
const versionHeader = 'x-bench-version';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * GET /probe on one kept-alive connection to the pod: the version header the echo backend saw (undefined
 * for any other answer), and whether the request needed a new connection.
 */
function prober(pod: EnvoyPod) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(pod.url(80, '/probe'));
  return () =>
    new Promise<{ version: string | undefined; newConnection: boolean }>((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          headers: { host: 'bench.example' },
          agent,
          timeout: 2000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const newConnection = !req.reusedSocket;
            if (res.statusCode !== 200) return resolve({ version: undefined, newConnection });
            try {
              const echo = JSON.parse(Buffer.concat(chunks).toString()) as EchoResponse;
              resolve({ version: echo.headers[versionHeader], newConnection });
            } catch {
              resolve({ version: undefined, newConnection });
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('no answer from Envoy within 2 s')));
      req.on('error', reject);
      req.end();
    });
}

interface Measured {
  g: number;
  key: GatewayKey;
  pod: EnvoyPod;
  probe: ReturnType<typeof prober>;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const lds = process.argv.includes('--lds');
  const gatewayCount = Number(args[0] ?? 200);
  const updates = Number(args[1] ?? 60);
  const envoys = Math.max(1, Math.min(gatewayCount, Number(args[2] ?? 1)));
  await envoyBinary();
  // Envoy pods dial the operator over the test network.
  const xdsArgs = await operatorXdsArgs();
  const xdsHost = (xdsArgs[xdsArgs.indexOf('--xds-address') + 1] ?? '').replace(/:\d+$/, '');
  const load = await startLoad({ gatewayCount, operatorArgs: xdsArgs });
  const backends = startTestHost();
  load.onStop(() => backends.stop());
  try {
    const { namespace: ns, kube, operator, clients } = load;
    const run = Date.now().toString(36);
    const echo = await backends.startEchoBackend('probe');
    const probeRoute = (g: number, version: string, cors = false) =>
      ({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { namespace: ns, name: `gw-${g}-probe` },
        spec: {
          parentRefs: [{ name: `gw-${g}` }],
          rules: [
            {
              matches: [{ path: { type: 'PathPrefix', value: '/probe' } }],
              filters: [
                {
                  type: 'RequestHeaderModifier',
                  requestHeaderModifier: { set: [{ name: versionHeader, value: version }] },
                },
                ...(cors
                  ? [{ type: 'CORS', cors: { allowOrigins: ['https://bench.example'], allowMethods: ['GET'] } }]
                  : []),
              ],
              backendRefs: [{ name: `gw-${g}-probe`, port: 8080 }],
            },
          ],
        },
      }) as KubernetesObject;

    // The measured Gateways, spread over the load; each gets its probe route, echo Service and Envoy.
    const measuredIndexes = Array.from({ length: envoys }, (_, i) => Math.floor((i * gatewayCount) / envoys));
    const measured: Measured[] = [];
    for (const g of measuredIndexes) {
      const gateway = `gw-${g}`;
      await kube.apply({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { namespace: ns, name: `gw-${g}-probe` },
        spec: { ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
      } as KubernetesObject);
      await kube.apply({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          namespace: ns,
          name: `gw-${g}-probe-1`,
          labels: { 'kubernetes.io/service-name': `gw-${g}-probe` },
        },
        addressType: 'IPv4',
        ports: [{ name: 'http', port: echo.port, protocol: 'TCP' }],
        endpoints: [{ addresses: [backends.address], conditions: { ready: true } }],
      } as KubernetesObject);
      await kube.apply(probeRoute(g, `${run}-start`));
      // The fleet as this operator wrote it: its xDS address in the bootstrap, a certificate of its CA.
      await eventually(
        `the fleet of ${ns}/${gateway}`,
        async () => {
          const [deployment, configMap, secret] = await Promise.all([
            kube.get('apps/v1', 'Deployment', ns, managedName(gateway)),
            kube.get<{ data?: Record<string, string> }>('v1', 'ConfigMap', ns, managedName(gateway)),
            kube.get<{ data?: Record<string, string> }>('v1', 'Secret', ns, xdsSecretName(gateway)),
          ]);
          const bootstrap = Object.values(configMap?.data ?? {}).join('\n');
          const caPem = Buffer.from(secret?.data?.['ca.crt'] ?? '', 'base64').toString();
          return (deployment && bootstrap.includes(xdsHost) && caPem === load.ca.certPem) || undefined;
        },
        300_000,
        500,
      );
      const pod = await startGatewayEnvoy({ kubeConfig: load.cluster.kubeConfig(), namespace: ns, gateway });
      load.onStop(() => pod.stop());
      await pod.waitReady(120_000);
      const probe = prober(pod);
      await eventually(
        `Envoy of ${gateway} to serve /probe`,
        async () => ((await probe().catch(() => undefined))?.version === `${run}-start` ? true : undefined),
        60_000,
        50,
      );
      measured.push({ g, key: `${ns}/${gateway}`, pod, probe });
    }
    await sleep(2000);

    let current: GatewayKey | undefined;
    let unaffected = 0;
    clients.onMessage((m) => {
      if (m.kind === 'response' && current !== undefined && m.gateway !== current) unaffected++;
    });
    const applyRoute = await keptAliveApplier(load.cluster.kubeConfig(), 'httproutes');
    let statsBefore: Map<string, number>[] = [];

    const served: number[] = [];
    const servedLowerBound: number[] = [];
    const rdsReceived: number[] = [];
    const envoyRdsApplied: number[] = [];
    const rdsToServed: number[] = [];
    const rdsToEnvoyApplied: number[] = [];
    const envoyAppliedToServed: number[] = [];
    const applied: number[] = [];
    const pollRoundTrips: number[] = [];
    const pollsPerUpdate: number[] = [];
    const ldsReceived: number[] = [];
    let failedPolls = 0;
    /** Polls that opened a connection (Envoy closed the previous one), and first-served answers among them. */
    let newConnections = 0;
    let servedOnNewConnection = 0;
    let notServed = 0;
    let before: LatencyHistogram | undefined;
    let loadBefore = Number.NaN;

    // One warm-up update per measured Gateway (opens the write connection), then the timed ones.
    const total = measured.length + updates;
    for (let u = 0; u < total; u++) {
      const warmUp = u < measured.length;
      if (u === measured.length) {
        loadBefore = os.loadavg()[0] ?? Number.NaN;
        before = await operatorPushLatency(operator.metricsPort());
        statsBefore = await Promise.all(measured.map((m) => m.pod.stats()));
      }
      const m = measured[u % measured.length] as Measured;
      const version = `${run}-${u}`;
      current = m.key;
      const received = load.routeReceived(m.key, giveUpAfterMs + 5000);
      const listenerReceived = lds
        ? clients.waitFor(
            (x): x is Extract<FromClients, { kind: 'response' }> =>
              x.kind === 'response' && x.gateway === m.key && x.typeUrl === TypeUrls.listener,
            giveUpAfterMs + 5000,
          )
        : undefined;
      const t0Wall = Date.now();
      const t0 = epochNow();
      // --lds: CORS on for odd updates, off for even ones (the start state is off).
      const written = applyRoute(probeRoute(m.g, version, lds && Math.floor(u / measured.length) % 2 === 0)).then(
        () => epochNow() - t0,
      );
      let firstServed: number | undefined;
      let firstServedSent: number | undefined;
      let polls = 0;
      for (;;) {
        const sent = epochNow();
        const seen = await m.probe().catch(() => {
          if (!warmUp) failedPolls++;
          return undefined;
        });
        if (!warmUp && seen?.newConnection) newConnections++;
        const now = epochNow();
        polls++;
        if (!warmUp) pollRoundTrips.push(now - sent);
        if (seen?.version === version) {
          if (!warmUp && seen.newConnection) servedOnNewConnection++;
          firstServed = now - t0;
          firstServedSent = sent - t0;
          break;
        }
        if (now - t0 > giveUpAfterMs) break;
        const wait = sent + pollEveryMs - now;
        if (wait > 0) await sleep(wait);
      }
      const writeMs = await written;
      const { at } = await received;
      const ldsAt = listenerReceived ? (await listenerReceived).at : undefined;
      // Envoy's own record of when it applied the RouteConfiguration carrying this version.
      const dump = await m.pod.configDump('dynamic_route_configs');
      const routeConfig = (dump.configs ?? []).find((c: { route_config?: unknown }) =>
        JSON.stringify(c.route_config ?? {}).includes(version),
      );
      const appliedAt = routeConfig?.last_updated ? Date.parse(routeConfig.last_updated) : Number.NaN;
      await load.statusWritten(`gw-${m.g}-probe`);
      if (warmUp) {
        if (firstServed === undefined) throw new Error(`warm-up update of gw-${m.g} was not served within 10 s`);
        continue;
      }
      applied.push(writeMs);
      rdsReceived.push(at - t0);
      if (ldsAt !== undefined) ldsReceived.push(ldsAt - t0);
      pollsPerUpdate.push(polls);
      if (Number.isFinite(appliedAt)) {
        envoyRdsApplied.push(appliedAt - t0Wall);
        rdsToEnvoyApplied.push(appliedAt - t0Wall - (at - t0));
        if (firstServed !== undefined) envoyAppliedToServed.push(firstServed - (appliedAt - t0Wall));
      }
      if (firstServed === undefined || firstServedSent === undefined) {
        notServed++;
        continue;
      }
      served.push(firstServed);
      servedLowerBound.push(firstServedSent);
      rdsToServed.push(firstServed - (at - t0));
    }
    const loadAfter = os.loadavg()[0] ?? Number.NaN;
    await sleep(1000);
    current = undefined;
    const operatorShare = before ? await operatorPushLatency(operator.metricsPort(), before) : undefined;

    // What Envoy did meanwhile: RDS updates only, no listener or cluster change, no deprecated field.
    const statsAfter = await Promise.all(measured.map((m) => m.pod.stats()));
    const delta = (pattern: RegExp) =>
      statsAfter.reduce((sum, after, i) => {
        let d = 0;
        for (const [name, value] of after) if (pattern.test(name)) d += value - (statsBefore[i]?.get(name) ?? 0);
        return sum + d;
      }, 0);
    const gauge = (name: string, stats = statsAfter) => stats.reduce((max, s) => Math.max(max, s.get(name) ?? 0), 0);
    // An in-place listener update drains the old filter chains for --drain-time-s (15 s by default).
    const drainedLater = lds
      ? await sleep(20_000).then(async () =>
          gauge('listener_manager.total_filter_chains_draining', await Promise.all(measured.map((m) => m.pod.stats()))),
        )
      : undefined;

    const servedSummary = summary(served);
    const rdsSummary = summary(rdsReceived);
    console.log(
      JSON.stringify(
        {
          benchmark: 'envoy-propagation',
          gateways: gatewayCount,
          routesPerGateway,
          servicesPerGateway,
          objects: load.objectCount,
          objectsReused: load.reused,
          rawDeltaStreams: gatewayCount,
          envoys: measured.length,
          envoyVersion: (await measured[0]?.pod.admin('/server_info').then((t) => JSON.parse(t).version)) ?? null,
          change: lds
            ? 'HTTPRoute RequestHeaderModifier value and a CORS filter added/removed (LDS + RDS)'
            : 'HTTPRoute RequestHeaderModifier value (RDS only)',
          pollEveryMs,
          updates,
          served: served.length,
          notServedWithin10s: notServed,
          writeToFirstServedMs: servedSummary,
          writeToRdsReceivedMs: rdsSummary,
          ...(lds ? { writeToLdsReceivedMs: summary(ldsReceived) } : {}),
          firstServedOverRdsReceived: {
            p50: round(servedSummary.p50 / rdsSummary.p50),
            p99: round(servedSummary.p99 / rdsSummary.p99),
          },
          rdsReceivedToFirstServedMs: summary(rdsToServed),
          writeToFirstServedRequestSentMs: summary(servedLowerBound),
          writeToEnvoyRdsAppliedMs: summary(envoyRdsApplied),
          rdsReceivedToEnvoyRdsAppliedMs: summary(rdsToEnvoyApplied),
          envoyRdsAppliedToFirstServedMs: summary(envoyAppliedToServed),
          pollRoundTripMs: summary(pollRoundTrips),
          pollsPerUpdate: summary(pollsPerUpdate),
          failedPolls,
          pollsOnNewConnection: newConnections,
          firstServedOnNewConnection: servedOnNewConnection,
          applyRoundTripMs: summary(applied),
          operatorSeenToPushRouteMs: operatorShare,
          unaffectedStreamPushes: unaffected,
          envoyDuringUpdates: {
            rdsUpdates: delta(/^http\..*\.rds\..*\.update_success$/),
            rdsRejected: delta(/^http\..*\.rds\..*\.update_rejected$/),
            ldsUpdates: delta(/^listener_manager\.lds\.update_success$/),
            listenersModified: delta(/^listener_manager\.listener_modified$/),
            listenersUpdatedInPlace: delta(/^listener_manager\.listener_in_place_updated$/),
            listenersDrainingAtEnd: gauge('listener_manager.total_listeners_draining'),
            filterChainsDrainingAtEnd: gauge('listener_manager.total_filter_chains_draining'),
            ...(lds ? { filterChainsDraining20sLater: drainedLater } : {}),
            downstreamConnections: delta(/^listener\.(?!admin\.)(?!.*\.worker_).*\.downstream_cx_total$/),
            cdsUpdates: delta(/^cluster_manager\.cds\.update_success$/),
            deprecatedFeatureUse: gauge('runtime.deprecated_feature_use'),
          },
          operatorRssMb: rssMb(operator.child.pid),
          operatorMemoryLimit: load.memoryLimited ? chartOperatorMemoryLimit() : null,
          createObjectsMs: load.createObjectsMs,
          initialSyncMs: load.initialSyncMs,
          routeStatusSettledMs: load.routeStatusSettledMs,
          machine: { cpus: os.cpus().length, loadAverage1m: { before: loadBefore, after: loadAfter } },
          node: process.version,
        },
        null,
        2,
      ),
    );
  } finally {
    await load.stop();
  }
}

await main();
