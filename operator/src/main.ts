// The Legate operator process: flags, logs, health and metrics servers, then the operator core.
// Adding a part (the translator, the xDS server) means subscribing it to `operator.store` here.

import { KubeConfig } from '@kubernetes/client-node';
import { filterKinds } from './controller/filter-sync.ts';
import { startHealthServer, startMetricsServer } from './controller/http-servers.ts';
import { jsonLogger } from './controller/log.ts';
import { OperatorMetrics } from './controller/metrics.ts';
import { LegateOperator } from './controller/operator.ts';
import { parseOptions, usage } from './controller/options.ts';
import { loadXdsCa } from './controller/xds-ca.ts';
import { XdsServing } from './controller/xds-serving.ts';
import { translationKinds } from './controller/xds-sync.ts';

function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(usage);
    return;
  }
  const options = parseOptions(process.argv.slice(2), process.env);
  const log = jsonLogger(options.logLevel, { identity: options.identity });
  const metrics = new OperatorMetrics();
  const kubeConfig = loadKubeConfig(options.kubeconfig);
  const issuer = options.xdsCaDir ? await loadXdsCa(options.xdsCaDir) : undefined;
  if (!issuer) log.warn('no --xds-ca-dir: Gateway xDS client certificates are not issued');
  let xds: XdsServing | undefined;
  const operator = new LegateOperator({
    kubeConfig,
    kubeconfigPath: options.kubeconfig,
    namespace: options.namespace,
    operatorNamespace: options.operatorNamespace,
    xdsAddress: options.xdsAddress,
    leaderElect: options.leaderElect,
    leaseName: options.leaseName,
    identity: options.identity,
    resyncSeconds: options.resyncSeconds,
    controllerName: options.controllerName,
    issuer,
    extraKinds: [...translationKinds, ...filterKinds],
    // With xDS (a CA), listener status comes from the translator, which sees routes, certificates
    // and conflicts; without it the Gateway controller still reports each listener.
    writeListenerStatus: !issuer,
    // WasmFilter / FilterPolicy, route and listener status is written by the leader only: catch up
    // on becoming it.
    onStartedLeading: () => {
      xds?.filters.resync();
      xds?.status.resync();
    },
    onFleetObject: (type, obj) => xds?.filters.fleetObjectChanged(type, obj),
    log,
    metrics,
  });
  // Envoys can only prove their Gateway with a certificate from the CA: no CA, no xDS.
  xds = issuer
    ? await XdsServing.start({
        kubeConfig,
        store: operator.store,
        ca: issuer,
        host: options.bindAddress,
        port: options.xdsPort,
        proxylessPort: options.xdsProxylessPort,
        serverNames: xdsServerNames(options.xdsAddress, options.operatorNamespace),
        controllerName: options.controllerName,
        operatorNamespace: options.operatorNamespace,
        leading: () => operator.leading,
        moduleCacheDir: options.moduleCacheDir,
        registry: metrics.registry,
        log,
      })
    : undefined;
  const health = await startHealthServer(options.bindAddress, options.healthPort, {
    healthy: () => true,
    ready: () => operator.synced,
  });
  const metricsServer = await startMetricsServer(options.bindAddress, options.metricsPort, metrics.registry);
  log.info('operator starting', {
    server: kubeConfig.getCurrentCluster()?.server,
    namespace: options.namespace ?? '(all)',
    healthPort: health.port,
    metricsPort: metricsServer.port,
    xdsAddress: options.xdsAddress,
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    await operator.stop();
    await xds?.stop();
    health.server.close();
    metricsServer.server.close();
    // stdout is asynchronous when it is a pipe: exit only once the last log line is out.
    process.stdout.write('', () => process.exit(0));
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await operator.start();
  // The store has listed every kind: translate everything, then let the xDS server answer.
  await xds?.startSync();
}

/** What the Envoys dial (the --xds-address host), plus the Service's in-cluster names and loopback. */
function xdsServerNames(xdsAddress: string, operatorNamespace: string): { dns: string[]; ips: string[] } {
  const host = xdsAddress.replace(/:\d+$/, '');
  const service = `legate-xds.${operatorNamespace}.svc`;
  const names = new Set([host, service, `${service}.cluster.local`, 'localhost']);
  const isIp = (h: string) => /^[\d.]+$/.test(h) || h.includes(':');
  return { dns: [...names].filter((h) => !isIp(h)), ips: ['127.0.0.1', ...[...names].filter(isIp)] };
}

main().catch((err: unknown) => {
  process.stderr.write(
    `${JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'operator failed', err: String((err as Error)?.stack ?? err) })}\n`,
  );
  process.exit(1);
});
