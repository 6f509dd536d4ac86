// Test helpers: small builders for Gateway API and core objects, and accessors into a translation.

import type { V1EndpointSlice, V1Secret, V1Service } from '@kubernetes/client-node';
import type { JsonValue } from '../../envoy/strict.ts';
import type { Gateway, GRPCRoute, HTTPRoute, Listener, ReferenceGrant } from '../../k8s/gateway-api.ts';
import type { GatewayTranslation, TranslationInput } from '../index.ts';
import { translateGateway } from '../index.ts';

export function gateway(ns: string, name: string, listeners: Listener[]): Gateway {
  return { metadata: { namespace: ns, name, generation: 1 }, spec: { gatewayClassName: 'legate', listeners } };
}

export function httpRoute(
  ns: string,
  name: string,
  spec: HTTPRoute['spec'],
  created = '2026-01-01T00:00:00Z',
): HTTPRoute {
  return { metadata: { namespace: ns, name, generation: 2, creationTimestamp: created }, spec };
}

export function grpcRoute(ns: string, name: string, spec: GRPCRoute['spec']): GRPCRoute {
  return { metadata: { namespace: ns, name, generation: 2 }, spec };
}

/** A Service with one port and an EndpointSlice with the given ready IPs. */
export function service(
  ns: string,
  name: string,
  port: number,
  ips: string[] = ['10.0.0.1'],
  appProtocol?: string,
): [V1Service, V1EndpointSlice] {
  return [
    {
      metadata: { namespace: ns, name },
      spec: { ports: [{ name: 'http', port, targetPort: 8080 as never, ...(appProtocol ? { appProtocol } : {}) }] },
    },
    {
      metadata: { namespace: ns, name: `${name}-1`, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080 }],
      endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    },
  ];
}

export const PEM_CERT = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
export const PEM_KEY = '-----BEGIN PRIVATE KEY-----\nMIIBfake\n-----END PRIVATE KEY-----\n';

export function tlsSecret(ns: string, name: string): V1Secret {
  return {
    metadata: { namespace: ns, name },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': Buffer.from(PEM_CERT).toString('base64'), 'tls.key': Buffer.from(PEM_KEY).toString('base64') },
  };
}

export function grant(ns: string, fromKind: string, fromNs: string, toKind: string, toName?: string): ReferenceGrant {
  return {
    metadata: { namespace: ns, name: `grant-${fromNs}` },
    spec: {
      from: [{ group: 'gateway.networking.k8s.io', kind: fromKind, namespace: fromNs }],
      to: [{ group: '', kind: toKind, ...(toName ? { name: toName } : {}) }],
    },
  };
}

/** Builds an input from services given as [Service, EndpointSlice] pairs plus other objects. */
export function input(parts: {
  gateways: Gateway[];
  httpRoutes?: HTTPRoute[];
  grpcRoutes?: GRPCRoute[];
  services?: [V1Service, V1EndpointSlice][];
  secrets?: V1Secret[];
  referenceGrants?: ReferenceGrant[];
}): TranslationInput {
  return {
    gateways: parts.gateways,
    httpRoutes: parts.httpRoutes ?? [],
    grpcRoutes: parts.grpcRoutes ?? [],
    services: (parts.services ?? []).map(([s]) => s),
    endpointSlices: (parts.services ?? []).map(([, e]) => e),
    secrets: parts.secrets ?? [],
    referenceGrants: parts.referenceGrants ?? [],
  };
}

export function mustTranslate(inp: TranslationInput, key: string): GatewayTranslation {
  const t = translateGateway(inp, key);
  if (!t) throw new Error(`Gateway ${key} was not translated`);
  if (t.errors.length > 0) throw new Error(`strict encoding failed: ${t.errors.join('\n')}`);
  return t;
}

type Json = { [key: string]: JsonValue };

/** The rendered resource of a type (short name: listener, route, cluster, endpoint, secret) and name. */
export function resource(
  t: GatewayTranslation,
  type: 'listener' | 'route' | 'cluster' | 'endpoint' | 'secret',
  name: string,
): Json {
  const url = {
    listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
    route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
    cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
    endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
    secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
  }[type] as keyof GatewayTranslation['resources'];
  const found = t.resources[url]?.find((r) => r.name === name);
  if (!found) throw new Error(`no ${type} named ${name}; have ${t.resources[url]?.map((r) => r.name).join(', ')}`);
  return found.resource;
}

export function names(t: GatewayTranslation, type: keyof GatewayTranslation['resources']): string[] {
  return (t.resources[type] ?? []).map((r) => r.name);
}

/** The conditions of a route's status for a parentRef, as `type=status/reason` strings. */
export function routeConditions(t: GatewayTranslation, route: string, index = 0): string[] {
  const s = t.status.routes.filter((r) => r.route === route)[index];
  if (!s) throw new Error(`no status for ${route}`);
  return s.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`);
}

export function listenerConditions(t: GatewayTranslation, listener: string): string[] {
  const s = t.status.gateway.listeners.find((l) => l.name === listener);
  if (!s) throw new Error(`no status for listener ${listener}`);
  return s.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`);
}
