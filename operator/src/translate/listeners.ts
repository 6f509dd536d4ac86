// Gateway listener validation: protocol, TLS certificates, allowed route kinds and conflicts
// between listeners on the same port (apis/v1 ListenerConditionType).

import type { Gateway, Listener, RouteGroupKind } from '../k8s/gateway-api.ts';
import { GatewayApiGroup, ListenerReason } from '../k8s/gateway-api.ts';
import type { IndexedInput } from './input.ts';
import type { IrSecret } from './ir.ts';
import { envoyBindPort } from './names.ts';
import type { RefError } from './references.ts';
import { resolveCertificate } from './references.ts';

const ROUTE_KINDS_BY_PROTOCOL: Record<string, readonly string[]> = {
  HTTP: ['HTTPRoute', 'GRPCRoute'],
  HTTPS: ['HTTPRoute', 'GRPCRoute'],
};

export interface CheckedListener {
  listener: Listener;
  protocol: 'HTTP' | 'HTTPS' | undefined;
  supportedKinds: RouteGroupKind[];
  /** Accepted=False reason, if any. */
  notAccepted?: RefError;
  conflicted?: RefError;
  unresolved?: RefError;
  certificates: IrSecret[];
  /** Accepted, not conflicted, and (HTTPS) with at least one usable certificate: gets programmed. */
  programmable: boolean;
}

function checkOne(index: IndexedInput, gateway: Gateway, listener: Listener): CheckedListener {
  const gwNs = gateway.metadata.namespace ?? 'default';
  const out: CheckedListener = {
    listener,
    protocol: undefined,
    supportedKinds: [],
    certificates: [],
    programmable: false,
  };
  const kindsForProtocol = ROUTE_KINDS_BY_PROTOCOL[listener.protocol];
  if (!kindsForProtocol) {
    out.notAccepted = {
      reason: ListenerReason.UnsupportedProtocol,
      message: `protocol ${listener.protocol} is not supported (supported: HTTP, HTTPS)`,
    };
    return out;
  }
  out.protocol = listener.protocol as 'HTTP' | 'HTTPS';

  const requested = listener.allowedRoutes?.kinds;
  if (requested && requested.length > 0) {
    const invalid: string[] = [];
    for (const k of requested) {
      const group = k.group ?? GatewayApiGroup;
      if (group === GatewayApiGroup && kindsForProtocol.includes(k.kind)) {
        if (!out.supportedKinds.some((s) => s.kind === k.kind)) out.supportedKinds.push({ group, kind: k.kind });
      } else invalid.push(`${group}/${k.kind}`);
    }
    if (invalid.length > 0) {
      out.unresolved = {
        reason: ListenerReason.InvalidRouteKinds,
        message: `route kinds not supported on ${listener.protocol}: ${invalid.join(', ')}`,
      };
    }
  } else {
    out.supportedKinds = kindsForProtocol.map((kind) => ({ group: GatewayApiGroup, kind }));
  }

  if (out.protocol === 'HTTPS') {
    const tls = listener.tls;
    if (tls?.mode === 'Passthrough') {
      out.notAccepted = {
        reason: ListenerReason.UnsupportedValue,
        message: 'tls.mode Passthrough is not valid on an HTTPS listener (use protocol TLS)',
      };
      return out;
    }
    const problems: RefError[] = [];
    for (const ref of tls?.certificateRefs ?? []) {
      const res = resolveCertificate(index, gwNs, ref);
      if (res.ok) out.certificates.push(res.value);
      else problems.push(res.error);
    }
    if ((tls?.certificateRefs ?? []).length === 0) {
      problems.push({
        reason: ListenerReason.InvalidCertificateRef,
        message: 'an HTTPS listener needs tls.certificateRefs',
      });
    }
    if (problems.length > 0 && !out.unresolved) {
      out.unresolved = {
        reason: problems[0]!.reason,
        message: problems.map((p) => p.message).join('; '),
      };
    }
  }
  return out;
}

/** Validates every listener of a Gateway, including conflicts between them. */
function isPort(p: unknown): p is number {
  return typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535;
}

/** A listener whose shape the Gateway API schema would have refused: never programmed. */
function malformed(l: unknown, why: string): CheckedListener {
  const o = (l && typeof l === 'object' ? l : {}) as Partial<Listener>;
  return {
    listener: { name: String(o.name ?? ''), port: isPort(o.port) ? o.port : 0, protocol: String(o.protocol ?? '') },
    protocol: undefined,
    supportedKinds: [],
    certificates: [],
    programmable: false,
    notAccepted: { reason: ListenerReason.UnsupportedValue, message: `listener is malformed: ${why}` },
  };
}

function checkSafely(index: IndexedInput, gateway: Gateway, l: Listener): CheckedListener {
  if (!l || typeof l !== 'object' || typeof l.name !== 'string') return malformed(l, 'no name');
  if (!isPort(l.port)) return malformed(l, `port ${JSON.stringify(l.port)} is not a port number`);
  if (typeof l.protocol !== 'string') return malformed(l, 'no protocol');
  if (l.hostname !== undefined && typeof l.hostname !== 'string') return malformed(l, 'hostname is not a string');
  try {
    return checkOne(index, gateway, l);
  } catch (e) {
    return malformed(l, e instanceof Error ? e.message : String(e));
  }
}

export function checkListeners(index: IndexedInput, gateway: Gateway): CheckedListener[] {
  const raw = Array.isArray(gateway.spec?.listeners) ? gateway.spec.listeners : [];
  const checked = raw.map((l) => checkSafely(index, gateway, l));
  // Ports below 1024 are bound at port + 10000: 80 and 10080 would need the same Envoy socket.
  const bindPorts = new Map<number, Set<number>>();
  for (const c of checked) {
    if (c.notAccepted) continue;
    const bind = envoyBindPort(c.listener.port);
    bindPorts.set(bind, (bindPorts.get(bind) ?? new Set()).add(c.listener.port));
  }
  for (const c of checked) {
    const ports = bindPorts.get(envoyBindPort(c.listener.port)) ?? new Set();
    if (!c.notAccepted && ports.size > 1) {
      c.notAccepted = {
        reason: ListenerReason.PortUnavailable,
        message: `ports ${[...ports].sort((a, b) => a - b).join(' and ')} both need Envoy port ${envoyBindPort(c.listener.port)} (ports below 1024 are bound at port + 10000)`,
      };
    }
  }
  const byPort = new Map<number, CheckedListener[]>();
  for (const c of checked) {
    if (c.notAccepted) continue;
    const list = byPort.get(c.listener.port) ?? [];
    list.push(c);
    byPort.set(c.listener.port, list);
  }
  for (const [port, list] of byPort) {
    const protocols = new Set(list.map((c) => c.protocol));
    if (protocols.size > 1) {
      for (const c of list) {
        c.conflicted = {
          reason: ListenerReason.ProtocolConflict,
          message: `port ${port} is used with several protocols (${[...protocols].join(', ')})`,
        };
      }
      continue;
    }
    const byHost = new Map<string, CheckedListener[]>();
    for (const c of list) {
      const h = c.listener.hostname ?? '';
      byHost.set(h, [...(byHost.get(h) ?? []), c]);
    }
    for (const [host, same] of byHost) {
      if (same.length < 2) continue;
      for (const c of same) {
        c.conflicted = {
          reason: ListenerReason.HostnameConflict,
          message: `listeners ${same.map((s) => s.listener.name).join(', ')} share port ${port} and hostname ${host || '(any)'}`,
        };
      }
    }
  }
  for (const c of checked) {
    c.programmable =
      !c.notAccepted &&
      !c.conflicted &&
      (c.protocol !== 'HTTPS' || c.certificates.length > 0) &&
      !(c.unresolved?.reason === ListenerReason.InvalidRouteKinds && c.supportedKinds.length === 0);
  }
  return checked;
}
