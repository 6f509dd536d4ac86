// Which of a Gateway's listeners the fleet can serve, and why not: port clashes, reserved ports
// and unsupported protocols or route kinds. Pure; the results become listener status conditions.

import type { Listener, RouteGroupKind } from '../k8s/gateway-api.ts';
import { EnvoyPorts, envoyListenerPort } from './names.ts';

const gatewayGroup = 'gateway.networking.k8s.io';

/**
 * Route kinds each protocol accepts (what supportedKinds reports when allowedRoutes.kinds is empty).
 * Only what the translator programs today: a port the Service exposes must be one Envoy listens on,
 * so TLS and TCP listeners are UnsupportedProtocol here until the translator serves them.
 */
const kindsByProtocol: Record<string, readonly string[]> = {
  HTTP: ['HTTPRoute', 'GRPCRoute'],
  HTTPS: ['HTTPRoute', 'GRPCRoute'],
};

/** The L4 protocol of a listener's Service port. */
export function l4Protocol(listener: Listener): 'TCP' | 'UDP' {
  return listener.protocol === 'UDP' ? 'UDP' : 'TCP';
}

export type ListenerProblem =
  | { condition: 'Accepted'; reason: 'PortUnavailable' | 'UnsupportedProtocol'; message: string }
  | { condition: 'Conflicted'; reason: 'ProtocolConflict' | 'HostnameConflict'; message: string };

export interface ListenerCheck {
  name: string;
  supportedKinds: RouteGroupKind[];
  /** Kinds in allowedRoutes.kinds this controller does not support (ResolvedRefs=False, InvalidRouteKinds). */
  invalidKinds: RouteGroupKind[];
  problem: ListenerProblem | undefined;
}

const reservedPorts = new Map<number, string>(Object.entries(EnvoyPorts).map(([name, port]) => [port, name]));

function protocolFamily(protocol: string): string {
  // HTTP and HTTPS listeners may not share a port; TLS and HTTPS can (both SNI-routed over TLS).
  return protocol === 'HTTPS' || protocol === 'TLS' ? 'TLS' : protocol;
}

export function checkListeners(listeners: readonly Listener[]): ListenerCheck[] {
  const byPort = new Map<number, Listener[]>();
  for (const l of listeners.filter((x) => kindsByProtocol[x.protocol])) {
    const envoyPort = envoyListenerPort(l.port);
    byPort.set(envoyPort, [...(byPort.get(envoyPort) ?? []), l]);
  }
  return listeners.map((l) => {
    const known = kindsByProtocol[l.protocol];
    const requested = l.allowedRoutes?.kinds;
    const supportedKinds = (requested ?? (known ?? []).map((kind) => ({ group: gatewayGroup, kind }))).filter(
      (k) => (k.group ?? gatewayGroup) === gatewayGroup && known?.includes(k.kind),
    );
    const invalidKinds = (requested ?? []).filter((k) => !supportedKinds.includes(k));
    return { name: l.name, supportedKinds, invalidKinds, problem: listenerProblem(l, byPort) };
  });
}

function listenerProblem(l: Listener, byPort: Map<number, Listener[]>): ListenerProblem | undefined {
  if (!kindsByProtocol[l.protocol]) {
    return {
      condition: 'Accepted',
      reason: 'UnsupportedProtocol',
      message: `protocol ${l.protocol} is not supported (use HTTP or HTTPS)`,
    };
  }
  const envoyPort = envoyListenerPort(l.port);
  const reserved = reservedPorts.get(envoyPort);
  if (reserved) {
    return {
      condition: 'Accepted',
      reason: 'PortUnavailable',
      message: `port ${l.port} is taken by Envoy's ${reserved} endpoint (ports ${[...reservedPorts.keys()].join(', ')} are reserved)`,
    };
  }
  const sharing = (byPort.get(envoyPort) ?? []).filter((o) => o !== l);
  const otherFamily = sharing.find((o) => protocolFamily(o.protocol) !== protocolFamily(l.protocol));
  if (otherFamily) {
    const samePublic = otherFamily.port === l.port;
    return {
      condition: 'Conflicted',
      reason: 'ProtocolConflict',
      message: samePublic
        ? `listener ${otherFamily.name} uses port ${l.port} with protocol ${otherFamily.protocol}`
        : `port ${l.port} and listener ${otherFamily.name}'s port ${otherFamily.port} both map to Envoy port ${envoyPort} (ports below 1024 are bound at port + 10000)`,
    };
  }
  const sameHost = sharing.find((o) => (o.hostname ?? '') === (l.hostname ?? '') && o.protocol === l.protocol);
  if (sameHost) {
    return {
      condition: 'Conflicted',
      reason: 'HostnameConflict',
      message: `listener ${sameHost.name} uses the same port ${l.port} and hostname '${l.hostname ?? '*'}'`,
    };
  }
  return undefined;
}
