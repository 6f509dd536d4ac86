// Stable xDS resource names. Other parts of Legate (the xDS server, proxyless gRPC clients, docs)
// address resources by these names, so changing one is an interface change: see docs/translate.md.

import type { IrServicePort } from './ir.ts';

/** Envoy socket listener for every Gateway listener on one port: `<namespace>/<gateway>/<port>`. */
export function listenerName(gatewayKey: string, port: number): string {
  return `${gatewayKey}/${port}`;
}

/** Route configuration: per port for HTTP, per Gateway listener for HTTPS. */
export function routeConfigName(gatewayKey: string, port: number, httpsListener?: string): string {
  return httpsListener === undefined ? `${gatewayKey}/${port}` : `${gatewayKey}/${port}/${httpsListener}`;
}

/** Proxyless gRPC (API listener) for one Gateway listener: `<namespace>/<gateway>/<listener>`. */
export function apiListenerName(gatewayKey: string, listener: string): string {
  return `${gatewayKey}/${listener}`;
}

/** ClusterLoadAssignment (EDS) name of one Service port: `<namespace>/<service>/<port>`. */
export function endpointsName(svc: IrServicePort): string {
  return `${svc.namespace}/${svc.name}/${svc.port}`;
}

/** Cluster of one Service port: the EDS name, plus `/h2c` when spoken over cleartext HTTP/2. */
export function clusterName(svc: IrServicePort, protocol: 'http1' | 'h2c'): string {
  return protocol === 'h2c' ? `${endpointsName(svc)}/h2c` : endpointsName(svc);
}

/** SDS secret of a TLS Secret: `<namespace>/<name>`. */
export function secretName(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/**
 * Routes to backends that are invalid point at this cluster, which never exists: Envoy answers
 * them with the route's cluster_not_found_response_code (500).
 */
export const INVALID_BACKEND_CLUSTER = 'legate/invalid-backend';

/**
 * The port Envoy binds for a Gateway listener port. Envoy runs unprivileged, so ports below 1024
 * are shifted by 10000 (80 → 10080, 443 → 10443); the Gateway's Service maps the listener port to it.
 */
export function envoyBindPort(listenerPort: number): number {
  return listenerPort < 1024 ? listenerPort + 10000 : listenerPort;
}
