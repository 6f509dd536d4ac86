// Reference resolution: ReferenceGrants, backend Services (→ clusters + EDS endpoints) and TLS
// Secrets. Each resolver returns either the resolved thing or a reason + message for status.

import type { V1Secret, V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { BackendObjectReference, SecretObjectReference } from '../k8s/gateway-api.ts';
import { GatewayApiGroup, RouteReason } from '../k8s/gateway-api.ts';
import type { IndexedInput } from './input.ts';
import { objectKey } from './input.ts';
import type { IrCluster, IrEndpoint, IrEndpoints, IrSecret } from './ir.ts';
import { clusterName, endpointsName, secretName } from './names.ts';

export interface RefError {
  reason: string;
  message: string;
}

export type Resolved<T> = { ok: true; value: T } | { ok: false; error: RefError };

/** Does a ReferenceGrant in `toNamespace` allow `fromKind` objects in `fromNamespace` to refer to it? */
export function referenceAllowed(
  index: IndexedInput,
  from: { group: string; kind: string; namespace: string },
  to: { group: string; kind: string; namespace: string; name: string },
): boolean {
  if (from.namespace === to.namespace) return true;
  for (const grant of index.grants.get(to.namespace) ?? []) {
    const fromOk = grant.spec?.from?.some(
      (f) => f.group === from.group && f.kind === from.kind && f.namespace === from.namespace,
    );
    if (!fromOk) continue;
    const toOk = grant.spec?.to?.some(
      (t) => (t.group ?? '') === to.group && t.kind === to.kind && (!t.name || t.name === to.name),
    );
    if (toOk) return true;
  }
  return false;
}

export interface ResolvedBackend {
  cluster: IrCluster;
  endpoints: IrEndpoints;
}

function isH2c(port: V1ServicePort): boolean {
  return port.appProtocol === 'kubernetes.io/h2c' || port.appProtocol === 'grpc' || port.appProtocol === 'h2c';
}

/** Resolves a backendRef of a route (kind HTTPRoute/GRPCRoute in `routeNamespace`) to a cluster. */
export function resolveBackend(
  index: IndexedInput,
  routeKind: string,
  routeNamespace: string,
  ref: BackendObjectReference,
  forceH2c: boolean,
): Resolved<ResolvedBackend> {
  const group = ref.group ?? '';
  const kind = ref.kind ?? 'Service';
  if (group !== '' || kind !== 'Service') {
    return fail(
      RouteReason.InvalidKind,
      `backendRef ${group || 'core'}/${kind} ${ref.name}: only core Services are supported`,
    );
  }
  const namespace = ref.namespace ?? routeNamespace;
  if (
    !referenceAllowed(
      index,
      { group: GatewayApiGroup, kind: routeKind, namespace: routeNamespace },
      { group: '', kind: 'Service', namespace, name: ref.name },
    )
  ) {
    return fail(
      RouteReason.RefNotPermitted,
      `backendRef Service ${namespace}/${ref.name} is in another namespace and no ReferenceGrant there allows it`,
    );
  }
  const service = index.services.get(objectKey(namespace, ref.name));
  if (!service) return fail(RouteReason.BackendNotFound, `Service ${namespace}/${ref.name} not found`);
  if (!isPort(ref.port)) {
    return fail(RouteReason.BackendNotFound, `backendRef Service ${namespace}/${ref.name} needs a valid port`);
  }
  const port = service.spec?.ports?.find((p) => p.port === ref.port);
  if (!port) return fail(RouteReason.BackendNotFound, `Service ${namespace}/${ref.name} has no port ${ref.port}`);
  if (service.spec?.type === 'ExternalName') {
    return fail(RouteReason.UnsupportedProtocol, `Service ${namespace}/${ref.name} is of type ExternalName`);
  }
  const svc = { namespace, name: ref.name, port: ref.port };
  const protocol = forceH2c || isH2c(port) ? 'h2c' : 'http1';
  return {
    ok: true,
    value: {
      cluster: { name: clusterName(svc, protocol), endpoints: endpointsName(svc), protocol, service: svc },
      endpoints: { name: endpointsName(svc), endpoints: memoEndpoints(index, endpointsName(svc), service, port) },
    },
  };
}

function memoEndpoints(index: IndexedInput, key: string, service: V1Service, port: V1ServicePort): IrEndpoint[] {
  let eps = index.endpointsMemo.get(key);
  if (!eps) {
    eps = readyEndpoints(index, service, port);
    index.endpointsMemo.set(key, eps);
  }
  return eps;
}

/** Ready endpoints of one Service port, from its EndpointSlices, sorted and without duplicates. */
export function readyEndpoints(index: IndexedInput, service: V1Service, port: V1ServicePort): IrEndpoint[] {
  const key = objectKey(service.metadata?.namespace, service.metadata?.name);
  const seen = new Map<string, IrEndpoint>();
  for (const slice of index.endpointSlices.get(key) ?? []) {
    if (slice.addressType === 'FQDN') continue;
    const slicePort = slice.ports?.find((p) => (p.name ?? '') === (port.name ?? ''));
    const portNumber = slicePort?.port ?? (typeof port.targetPort === 'number' ? port.targetPort : undefined);
    if (!isPort(portNumber)) continue;
    for (const ep of slice.endpoints ?? []) {
      // Kubernetes: a nil `ready` means ready.
      if (ep.conditions?.ready === false) continue;
      for (const address of ep.addresses ?? []) {
        if (typeof address !== 'string') continue;
        const e: IrEndpoint = { address, port: portNumber };
        if (typeof ep.zone === 'string' && ep.zone) e.zone = ep.zone;
        seen.set(`${address}:${portNumber}`, e);
      }
    }
  }
  return [...seen.values()].sort((a, b) => cmp(a.address, b.address) || a.port - b.port);
}

function isPort(p: unknown): p is number {
  return typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function fail<T>(reason: string, message: string): Resolved<T> {
  return { ok: false, error: { reason, message } };
}

/** Resolves a listener certificateRef to an SDS secret (kubernetes.io/tls with tls.crt and tls.key). */
export function resolveCertificate(
  index: IndexedInput,
  gatewayNamespace: string,
  ref: SecretObjectReference,
): Resolved<IrSecret> {
  const group = ref.group ?? '';
  const kind = ref.kind ?? 'Secret';
  if (group !== '' || kind !== 'Secret') {
    return fail('InvalidCertificateRef', `certificateRef ${group || 'core'}/${kind} ${ref.name} is not a core Secret`);
  }
  const namespace = ref.namespace ?? gatewayNamespace;
  if (
    !referenceAllowed(
      index,
      { group: GatewayApiGroup, kind: 'Gateway', namespace: gatewayNamespace },
      { group: '', kind: 'Secret', namespace, name: ref.name },
    )
  ) {
    return fail(
      'RefNotPermitted',
      `certificateRef Secret ${namespace}/${ref.name} is in another namespace and no ReferenceGrant there allows it`,
    );
  }
  const secret: V1Secret | undefined = index.secrets.get(objectKey(namespace, ref.name));
  if (!secret) return fail('InvalidCertificateRef', `Secret ${namespace}/${ref.name} not found`);
  const crt = decodeSecretValue(secret, 'tls.crt');
  const key = decodeSecretValue(secret, 'tls.key');
  if (!crt || !key || !crt.includes('-----BEGIN') || !key.includes('-----BEGIN')) {
    return fail('InvalidCertificateRef', `Secret ${namespace}/${ref.name} has no PEM tls.crt and tls.key`);
  }
  return { ok: true, value: { name: secretName(namespace, ref.name), certificateChain: crt, privateKey: key } };
}

function decodeSecretValue(secret: V1Secret, key: string): string | undefined {
  const b64 = secret.data?.[key];
  if (b64 !== undefined) return Buffer.from(b64, 'base64').toString('utf8');
  return secret.stringData?.[key];
}
