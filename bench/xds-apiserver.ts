// End-to-end xDS benchmark on the real API server with the real operator process: N Gateways, each
// with 20 HTTPRoutes and 60 Services (+ EndpointSlices), one Delta ADS stream per Gateway over mTLS
// (certificates from the operator's CA); the load itself is bench/apiserver-load.ts. Measures the time
// from an HTTPRoute update written to the API server to the affected stream receiving the new
// RouteConfiguration (p50/p99 over the updates), how many other streams received anything meanwhile
// (must be 0), and the operator's RSS.
//
// Usage: node bench/xds-apiserver.ts [gateways=200] [updates=100]. Starts its own API server and
// etcd unless LEGATE_TEST_KUBECONFIG names a running one. Prints one JSON object.
// Creating the 28,201 objects takes minutes; with LEGATE_BENCH_NAMESPACE=<name> (and a running API
// server) the objects are made once in that namespace, kept, and reused by later runs.

import type { GatewayKey } from '../operator/src/xds/identity.ts';
import { chartOperatorMemoryLimit } from '../test/harness/memory-limit.ts';
import {
  keptAliveApplier,
  operatorPushLatency,
  routesPerGateway,
  rssMb,
  servicesPerGateway,
  startLoad,
  summary,
} from './apiserver-load.ts';
import { epochNow } from './xds-clients.ts';

async function main(): Promise<void> {
  const gatewayCount = Number(process.argv[2] ?? 200);
  const updates = Number(process.argv[3] ?? 100);
  const load = await startLoad({ gatewayCount });
  try {
    const { namespace: ns, operator, clients, base, route } = load;
    await new Promise((resolve) => setTimeout(resolve, 2000));

    let current: GatewayKey | undefined;
    let unaffected = 0;
    clients.onMessage((m) => {
      if (m.kind === 'response' && current !== undefined && m.gateway !== current) unaffected++;
    });
    const applyRoute = await keptAliveApplier(load.cluster.kubeConfig(), 'httproutes');
    // Opens the connection with an update of gw-0 whose push is awaited, so it is not counted later.
    // Its weight is one neither the created objects nor any timed update has: a warm-up that repeats
    // the current spec is no change, gets no push, and would wait in vain.
    const warmed = load.routeReceived(`${ns}/gw-0`);
    await applyRoute(route(0, 1, base + updates + 1));
    await warmed;
    await load.statusWritten('gw-0-route-1');
    const before = await operatorPushLatency(operator.metricsPort());
    const latencies: number[] = [];
    /** The API server's share: the apply request's round trip. */
    const applied: number[] = [];
    for (let u = 0; u < updates; u++) {
      const g = (u * 37) % gatewayCount;
      current = `${ns}/gw-${g}`;
      const received = load.routeReceived(current);
      const t0 = epochNow();
      await applyRoute(route(g, u % routesPerGateway, base + u + 1));
      applied.push(epochNow() - t0);
      const { at } = await received;
      latencies.push(at - t0);
      // One update at a time: the operator's status write for this one lands before the next begins,
      // so each sample is a single update, not one queued behind the previous update's writes.
      await load.statusWritten(`gw-${g}-route-${u % routesPerGateway}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    current = undefined;
    // The operator's own share during the updates: watch event seen → response written.
    const operatorShare = operatorPushLatency(operator.metricsPort(), before);
    const end = summary(latencies);
    const apply = summary(applied);
    console.log(
      JSON.stringify(
        {
          benchmark: 'xds-apiserver',
          gateways: gatewayCount,
          routesPerGateway,
          servicesPerGateway,
          objects: load.objectCount,
          objectsReused: load.reused,
          streams: gatewayCount,
          protocol: 'delta',
          mtls: true,
          updates,
          httpRouteUpdateToRdsMs: end,
          applyRoundTripMs: { p50: apply.p50, p99: apply.p99 },
          operatorSeenToPushRouteMs: await operatorShare,
          unaffectedStreamPushes: unaffected,
          operatorRssMb: rssMb(operator.child.pid),
          operatorMemoryLimit: load.memoryLimited ? chartOperatorMemoryLimit() : null,
          createObjectsMs: load.createObjectsMs,
          initialSyncMs: load.initialSyncMs,
          routeStatusSettledMs: load.routeStatusSettledMs,
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
