// Names, labels and ports shared by everything that creates or finds a Gateway's Envoy fleet.
// Other modules (xDS identity, translation) rely on these: change them only together.

import { createHash } from 'node:crypto';

export const ControllerName = 'legate.dev/gateway-controller';
export const FieldManager = 'legate-operator';

/**
 * Server-side apply field managers, one per writer of a Gateway's status. An apply removes every field
 * its manager owned before and left out this time, so two writers that share a manager erase each
 * other (the ConfigAccepted condition removed the listener status and back). Each owns its fields.
 */
export const FieldManagers = {
  /** Fleet objects, GatewayClass status, Gateway Accepted/Programmed/addresses (and listeners without xDS). */
  operator: FieldManager,
  /** Gateway `status.listeners`, from translation. */
  listenerStatus: 'legate-listener-status',
  /** The Gateway's `legate.dev/ConfigAccepted` condition, from Envoy's ACKs and NACKs. */
  configAccepted: 'legate-config-accepted',
} as const;

export const Labels = {
  name: 'app.kubernetes.io/name',
  managedBy: 'app.kubernetes.io/managed-by',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  gatewayName: 'gateway.networking.k8s.io/gateway-name',
} as const;

/** Ports Envoy itself uses inside the pod; a Gateway listener may not take them. */
export const EnvoyPorts = { admin: 19000, readiness: 19001, metrics: 19002 } as const;

const maxNameLength = 63;

/**
 * `legate-<gateway>`, or when that is longer than a DNS label allows, a prefix of it plus a hash of
 * the full name, so two long Gateway names never collide.
 */
export function managedName(gatewayName: string, suffix = ''): string {
  const full = `legate-${gatewayName}${suffix}`;
  if (full.length <= maxNameLength) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, maxNameLength - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

/** The Secret holding the Gateway's xDS client certificate (issued through operator/src/xds/identity.ts). */
export function xdsSecretName(gatewayName: string): string {
  return managedName(gatewayName, '-xds');
}

/** Label values are limited to 63 characters too; Gateway names can be up to 253. */
function labelValue(value: string): string {
  if (value.length <= maxNameLength) return value;
  const hash = createHash('sha256').update(value).digest('hex').slice(0, 8);
  return `${value.slice(0, maxNameLength - 9).replace(/[-_.]+$/, '')}-${hash}`;
}

/** The labels on every managed object; also the selector that finds them again. */
export function managedLabels(gatewayName: string): Record<string, string> {
  return {
    [Labels.name]: 'envoy',
    [Labels.managedBy]: 'legate',
    [Labels.instance]: labelValue(gatewayName),
    [Labels.gatewayName]: labelValue(gatewayName),
  };
}

/** The pod selector: stable for the life of the Deployment (selectors are immutable). */
export function selectorLabels(gatewayName: string): Record<string, string> {
  const all = managedLabels(gatewayName);
  return { [Labels.name]: 'envoy', [Labels.instance]: all[Labels.instance] as string };
}

export function labelSelectorString(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/**
 * The port Envoy binds for a listener port. Envoy runs as non-root without NET_BIND_SERVICE, so a
 * privileged port (< 1024) is bound at port + 10000 and the Service maps the public port onto it.
 * The translator must use this for listener addresses.
 */
export function envoyListenerPort(gatewayPort: number): number {
  return gatewayPort < 1024 ? gatewayPort + 10000 : gatewayPort;
}
