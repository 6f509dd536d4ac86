// The Envoy bootstrap every pod of a Gateway's fleet starts from, as proto3 JSON (the form Envoy's
// -c flag reads). Everything else comes over ADS from the operator's xDS server.
//
// - node.cluster = "<namespace>/<gateway>" (the xDS server keys snapshots by it); node.id is set per
//   pod by the Deployment through --service-node $(POD_NAME), which overrides the bootstrap value.
// - ADS over TLS with the Gateway's client certificate, read from files by file-based SDS: the
//   certificate files come from the Secret `legate-<gateway>-xds` (kubernetes.io/tls keys tls.crt,
//   tls.key, ca.crt), and the SDS resource files from this ConfigMap. Both mounts are Kubernetes
//   atomic-swap directories, so the SDS sources watch the directory, as Envoy documents for that case.
// - admin on 127.0.0.1 only; two listeners expose just /ready and /stats/prometheus from it.
// - Readiness means "has received and applied its configuration": LDS and CDS wait for the
//   operator's first answer without a time limit (initial_fetch_timeout 0s). Envoy's default (15 s)
//   lets it finish initialising without any configuration, and /ready then answers 200 with no
//   listener, so a pod that cannot serve would join the Service. While the operator is unreachable
//   a new pod stays not ready; running pods keep what they have.
// - The global downstream connection limit (50000, Envoy's edge recommendation) is the overload
//   manager's resource monitor; the runtime key `overload.global_downstream_max_connections` is
//   deprecated. The readiness and metrics listeners are exempt, so probes and scrapes still answer
//   at the limit.

import { EnvoyPorts } from './names.ts';

export const BootstrapPaths = {
  configDir: '/etc/envoy',
  bootstrapKey: 'bootstrap.json',
  sdsCertificateKey: 'xds-certificate.json',
  sdsTrustedCaKey: 'xds-trusted-ca.json',
  xdsTlsDir: '/etc/envoy/xds-tls',
} as const;

export interface BootstrapInput {
  namespace: string;
  gatewayName: string;
  /** host:port of the operator's xDS service. */
  xdsAddress: string;
}

type Json = Record<string, unknown>;

const XdsCluster = 'legate_xds';
const AdminCluster = 'legate_admin';
/** Envoy's global downstream connection limit (its edge best-practice value). */
export const GlobalMaxDownstreamConnections = 50000;

const TypeUrl = {
  downstreamConnections:
    'type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig',
  hcm: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  router: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  upstreamTls: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  httpOptions: 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
} as const;

export function parseHostPort(address: string): { host: string; port: number } {
  const match = /^(.+):(\d+)$/.exec(address);
  if (!match) throw new Error(`xDS address '${address}' is not host:port`);
  return { host: (match[1] as string).replace(/^\[(.*)\]$/, '$1'), port: Number(match[2]) };
}

function socketAddress(address: string, port: number): Json {
  return { socket_address: { address, port_value: port } };
}

function fileSds(name: string, key: string): Json {
  return {
    name,
    sds_config: {
      path_config_source: {
        path: `${BootstrapPaths.configDir}/${key}`,
        watched_directory: { path: BootstrapPaths.configDir },
      },
      resource_api_version: 'V3',
    },
  };
}

/** A listener that answers one admin path (exact match) and nothing else. */
function adminPathListener(name: string, port: number, path: string, prefix: boolean): Json {
  return {
    name,
    address: socketAddress('0.0.0.0', port),
    ignore_global_conn_limit: true,
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': TypeUrl.hcm,
              stat_prefix: name,
              route_config: {
                name,
                virtual_hosts: [
                  {
                    name,
                    domains: ['*'],
                    routes: [{ match: prefix ? { prefix: path } : { path }, route: { cluster: AdminCluster } }],
                  },
                ],
              },
              http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.router } }],
            },
          },
        ],
      },
    ],
  };
}

/** The bootstrap, as the object that is serialised to bootstrap.json. */
export function buildBootstrap(input: BootstrapInput): Json {
  const xds = parseHostPort(input.xdsAddress);
  // No initial fetch timeout: initialisation (and so /ready) waits for the operator's first answer.
  const adsSource = { ads: {}, resource_api_version: 'V3', initial_fetch_timeout: '0s' };
  return {
    node: { cluster: `${input.namespace}/${input.gatewayName}`, id: `${input.namespace}/${input.gatewayName}` },
    admin: { address: socketAddress('127.0.0.1', EnvoyPorts.admin) },
    dynamic_resources: {
      ads_config: {
        api_type: 'DELTA_GRPC',
        transport_api_version: 'V3',
        set_node_on_first_message_only: true,
        grpc_services: [{ envoy_grpc: { cluster_name: XdsCluster } }],
      },
      lds_config: adsSource,
      cds_config: adsSource,
    },
    static_resources: {
      listeners: [
        adminPathListener('legate_readiness', EnvoyPorts.readiness, '/ready', false),
        adminPathListener('legate_metrics', EnvoyPorts.metrics, '/stats/prometheus', true),
      ],
      clusters: [
        {
          name: XdsCluster,
          type: 'STRICT_DNS',
          connect_timeout: '5s',
          load_assignment: {
            cluster_name: XdsCluster,
            endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(xds.host, xds.port) } }] }],
          },
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': TypeUrl.httpOptions,
              // gRPC needs HTTP/2; keepalive notices a dead operator instead of waiting on TCP.
              explicit_http_config: {
                http2_protocol_options: {
                  connection_keepalive: { interval: '30s', timeout: '5s' },
                },
              },
            },
          },
          transport_socket: {
            name: 'envoy.transport_sockets.tls',
            typed_config: {
              '@type': TypeUrl.upstreamTls,
              sni: xds.host,
              common_tls_context: {
                tls_certificate_sds_secret_configs: [
                  fileSds('xds_client_certificate', BootstrapPaths.sdsCertificateKey),
                ],
                validation_context_sds_secret_config: fileSds('xds_trusted_ca', BootstrapPaths.sdsTrustedCaKey),
              },
            },
          },
        },
        {
          name: AdminCluster,
          type: 'STATIC',
          connect_timeout: '1s',
          load_assignment: {
            cluster_name: AdminCluster,
            endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress('127.0.0.1', EnvoyPorts.admin) } }] }],
          },
        },
      ],
    },
    overload_manager: {
      resource_monitors: [
        {
          name: 'envoy.resource_monitors.global_downstream_max_connections',
          typed_config: {
            '@type': TypeUrl.downstreamConnections,
            max_active_downstream_connections: GlobalMaxDownstreamConnections,
          },
        },
      ],
    },
    layered_runtime: { layers: [{ name: 'admin', admin_layer: {} }] },
  };
}

/** The file-based SDS resources the bootstrap points at (each a DiscoveryResponse-shaped file). */
export function buildSdsFiles(): { certificate: Json; trustedCa: Json } {
  const dir = BootstrapPaths.xdsTlsDir;
  return {
    certificate: {
      resources: [
        {
          '@type': TypeUrl.secret,
          name: 'xds_client_certificate',
          tls_certificate: {
            certificate_chain: { filename: `${dir}/tls.crt` },
            private_key: { filename: `${dir}/tls.key` },
            watched_directory: { path: dir },
          },
        },
      ],
    },
    trustedCa: {
      resources: [
        {
          '@type': TypeUrl.secret,
          name: 'xds_trusted_ca',
          validation_context: {
            trusted_ca: { filename: `${dir}/ca.crt` },
            watched_directory: { path: dir },
          },
        },
      ],
    },
  };
}
