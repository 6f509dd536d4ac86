// Command-line flags and environment variables of the operator process. Flags win over env.

import os from 'node:os';
import { parseArgs } from 'node:util';
import { ControllerName } from '../infra/names.ts';
import { isLogLevel, type LogLevel } from './log.ts';

export interface OperatorOptions {
  /** Path to a kubeconfig; undefined = $KUBECONFIG, ~/.kube/config, or the in-cluster service account. */
  kubeconfig: string | undefined;
  /** Watch and manage one namespace only; undefined = all namespaces. */
  namespace: string | undefined;
  /** Where the operator runs: holds its leader Lease and names the default xDS address. */
  operatorNamespace: string;
  logLevel: LogLevel;
  bindAddress: string;
  metricsPort: number;
  healthPort: number;
  xdsAddress: string;
  leaderElect: boolean;
  leaseName: string;
  identity: string;
  /** Full re-list of watched kinds, catching anything a restarted watch missed. */
  resyncSeconds: number;
  /** GatewayClasses with this controllerName are ours. */
  controllerName: string;
  /** Folder with the xDS CA's tls.crt and tls.key; without it no client certificates are issued. */
  xdsCaDir: string | undefined;
  /** The ADS server's mTLS port (served only with an xDS CA). */
  xdsPort: number;
  /** A plaintext ADS port for proxyless gRPC clients of Gateways that opt in; undefined = off. */
  xdsProxylessPort: number | undefined;
  /** Folder for verified filter modules, so a restarted operator serves them while a source is down. */
  moduleCacheDir: string | undefined;
}

export const usage = `legate operator

  --kubeconfig PATH          kubeconfig file (env KUBECONFIG; default ~/.kube/config or in-cluster)
  --namespace NS             manage Gateways in this namespace only (env LEGATE_WATCH_NAMESPACE; default all)
  --operator-namespace NS    namespace of the operator's Lease and xDS Service (env POD_NAMESPACE; default legate-system)
  --log-level LEVEL          debug | info | warn | error (env LEGATE_LOG_LEVEL; default info)
  --bind-address ADDR        address of the health and metrics servers (default 0.0.0.0 in a pod, else 127.0.0.1)
  --metrics-port PORT        Prometheus /metrics (env LEGATE_METRICS_PORT; default 8080; 0 = any free port)
  --health-port PORT         /healthz and /readyz (env LEGATE_HEALTH_PORT; default 8081; 0 = any free port)
  --xds-address HOST:PORT    what Envoys dial for ADS (env LEGATE_XDS_ADDRESS; default legate-xds.<operator-namespace>.svc:18000)
  --leader-elect BOOL        run leader election on a Lease (default true)
  --lease-name NAME          the Lease's name (default legate-operator)
  --identity ID              this replica's identity in the Lease (env POD_NAME; default <hostname>-<pid>)
  --resync-seconds N         periodic full re-list (default 300)
  --controller-name NAME     GatewayClass controllerName to serve (default legate.dev/gateway-controller)
  --xds-ca-dir DIR           xDS CA (tls.crt, tls.key) that issues each Gateway's client certificate
                             Secret legate-<gateway>-xds (env LEGATE_XDS_CA_DIR; default: none issued)
  --xds-port PORT            ADS server port, mTLS with Gateway client certificates (env LEGATE_XDS_PORT;
                             default 18000; 0 = any free port; needs --xds-ca-dir)
  --xds-proxyless-port PORT  plaintext ADS port for proxyless gRPC clients of Gateways annotated
                             legate.dev/proxyless-xds: "true" (env LEGATE_XDS_PROXYLESS_PORT; default off)
  --module-cache-dir DIR     keep verified filter modules on disk too, so a restarted operator serves a pinned
                             HTTPS module while its source is down (env LEGATE_MODULE_CACHE_DIR; default memory only)
`;

function port(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name}: '${value}' is not a port number`);
  return n;
}

function optionalPort(value: string | undefined, name: string): number | undefined {
  return value === undefined || value === '' ? undefined : port(value, 0, name);
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): OperatorOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: 'string' },
      namespace: { type: 'string' },
      'operator-namespace': { type: 'string' },
      'log-level': { type: 'string' },
      'bind-address': { type: 'string' },
      'metrics-port': { type: 'string' },
      'health-port': { type: 'string' },
      'xds-address': { type: 'string' },
      'leader-elect': { type: 'string' },
      'lease-name': { type: 'string' },
      identity: { type: 'string' },
      'resync-seconds': { type: 'string' },
      'controller-name': { type: 'string' },
      'xds-ca-dir': { type: 'string' },
      'xds-port': { type: 'string' },
      'xds-proxyless-port': { type: 'string' },
      'module-cache-dir': { type: 'string' },
    },
    strict: true,
  });
  const logLevel = values['log-level'] ?? env.LEGATE_LOG_LEVEL ?? 'info';
  if (!isLogLevel(logLevel)) throw new Error(`--log-level: '${logLevel}' is not one of debug, info, warn, error`);
  const operatorNamespace = values['operator-namespace'] ?? env.POD_NAMESPACE ?? 'legate-system';
  const leaderElect = values['leader-elect'] ?? 'true';
  if (leaderElect !== 'true' && leaderElect !== 'false') throw new Error('--leader-elect: expected true or false');
  const resync = Number(values['resync-seconds'] ?? 300);
  if (!Number.isFinite(resync) || resync <= 0) throw new Error('--resync-seconds: expected a positive number');
  return {
    kubeconfig: values.kubeconfig ?? (env.KUBECONFIG || undefined),
    namespace: values.namespace ?? (env.LEGATE_WATCH_NAMESPACE || undefined),
    operatorNamespace,
    logLevel,
    bindAddress: values['bind-address'] ?? (env.KUBERNETES_SERVICE_HOST ? '0.0.0.0' : '127.0.0.1'),
    metricsPort: port(values['metrics-port'] ?? env.LEGATE_METRICS_PORT, 8080, '--metrics-port'),
    healthPort: port(values['health-port'] ?? env.LEGATE_HEALTH_PORT, 8081, '--health-port'),
    xdsAddress: values['xds-address'] ?? env.LEGATE_XDS_ADDRESS ?? `legate-xds.${operatorNamespace}.svc:18000`,
    leaderElect: leaderElect === 'true',
    leaseName: values['lease-name'] ?? 'legate-operator',
    identity: values.identity ?? env.POD_NAME ?? `${os.hostname()}-${process.pid}`,
    resyncSeconds: resync,
    controllerName: values['controller-name'] ?? ControllerName,
    xdsCaDir: values['xds-ca-dir'] ?? (env.LEGATE_XDS_CA_DIR || undefined),
    xdsPort: port(values['xds-port'] ?? env.LEGATE_XDS_PORT, 18000, '--xds-port'),
    xdsProxylessPort: optionalPort(
      values['xds-proxyless-port'] ?? env.LEGATE_XDS_PROXYLESS_PORT,
      '--xds-proxyless-port',
    ),
    moduleCacheDir: values['module-cache-dir'] ?? (env.LEGATE_MODULE_CACHE_DIR || undefined),
  };
}
