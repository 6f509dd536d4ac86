// IR → Envoy xDS resources as proto3 JSON (what Envoy's docs, protojson and go-control-plane read).
// Kept within what @grpc/grpc-js-xds accepts too: router filter last, path matches as `path`,
// `prefix` or `safe_regex` only, clusters of type EDS over ADS, locality weights set.

import type { JsonValue } from '../envoy/strict.ts';
import type {
  IrAction,
  IrApiListener,
  IrBackend,
  IrCluster,
  IrCors,
  IrEndpoints,
  IrFilterChain,
  IrHeaderMods,
  IrListener,
  IrMatch,
  IrPathRewrite,
  IrRoute,
  IrRouteConfig,
  IrSecret,
} from './ir.ts';
import { envoyBindPort, INVALID_BACKEND_CLUSTER } from './names.ts';

type Json = { [key: string]: JsonValue };

const T = 'type.googleapis.com/';
const HCM_TYPE = `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`;
const ROUTER_TYPE = `${T}envoy.extensions.filters.http.router.v3.Router`;
const ADS: Json = { ads: {}, resourceApiVersion: 'V3' };

function duration(ms: number): string {
  return `${(ms / 1000).toFixed(3).replace(/\.?0+$/, '')}s`;
}

function statPrefix(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '.');
}

const CORS_FILTER = 'envoy.filters.http.cors';

function usesCors(rc: IrRouteConfig): boolean {
  return rc.virtualHosts.some((vh) => vh.routes.some((r) => r.cors));
}

function httpConnectionManager(routeConfig: IrRouteConfig, proxyless: boolean): Json {
  const httpFilters: Json[] = [];
  // Envoy only: proxyless clients have no CORS (and their routes carry no CORS policy).
  if (!proxyless && usesCors(routeConfig)) {
    httpFilters.push({ name: CORS_FILTER, typedConfig: { '@type': `${T}envoy.extensions.filters.http.cors.v3.Cors` } });
  }
  // The router must be the last filter (Envoy and grpc-js-xds both insist).
  httpFilters.push({ name: 'envoy.filters.http.router', typedConfig: { '@type': ROUTER_TYPE } });
  const hcm: Json = {
    '@type': HCM_TYPE,
    statPrefix: statPrefix(routeConfig.name),
    ...(proxyless
      ? { routeConfig: renderRouteConfig(routeConfig, true) }
      : { rds: { routeConfigName: routeConfig.name, configSource: ADS } }),
    httpFilters,
  };
  if (!proxyless) {
    hcm.useRemoteAddress = true;
    hcm.normalizePath = true;
  }
  return hcm;
}

function filterChain(chain: IrFilterChain, https: boolean): Json {
  const out: Json = {
    name: chain.routeConfig.name,
    filters: [
      {
        name: 'envoy.filters.network.http_connection_manager',
        typedConfig: httpConnectionManager(chain.routeConfig, false),
      },
    ],
  };
  if (chain.serverNames.length > 0) out.filterChainMatch = { serverNames: chain.serverNames };
  if (https) {
    out.transportSocket = {
      name: 'envoy.transport_sockets.tls',
      typedConfig: {
        '@type': `${T}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`,
        commonTlsContext: {
          tlsCertificateSdsSecretConfigs: chain.certificates.map((name) => ({ name, sdsConfig: ADS })),
          alpnProtocols: ['h2', 'http/1.1'],
        },
      },
    };
  }
  return out;
}

export function renderListener(l: IrListener): Json {
  const https = l.protocol === 'HTTPS';
  const out: Json = {
    name: l.name,
    address: { socketAddress: { address: '0.0.0.0', portValue: envoyBindPort(l.port) } },
    filterChains: l.filterChains.map((c) => filterChain(c, https)),
  };
  if (https) {
    out.listenerFilters = [
      {
        name: 'envoy.filters.listener.tls_inspector',
        typedConfig: { '@type': `${T}envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector` },
      },
    ];
  }
  return out;
}

/**
 * The proxyless-gRPC entry point: an API listener carrying its route configuration inline, in the
 * form grpc-js-xds accepts (it rejects a whole RouteConfiguration with a redirect or a direct
 * response, so those routes point at the never-existing invalid-backend cluster: the RPC fails).
 */
export function renderApiListener(a: IrApiListener, routeConfig: IrRouteConfig): Json {
  return { name: a.name, apiListener: { apiListener: httpConnectionManager(routeConfig, true) } };
}

/**
 * Envoy reads a header value to add as a substitution format string (`%REQ(x)%`...): a lone `%` makes
 * it refuse the whole RouteConfiguration ("Un-terminated variable expression"), and `%X%` would be
 * expanded. Gateway API values are literal, so every `%` is doubled.
 */
export function literalHeaderValue(value: string): string {
  return value.replaceAll('%', '%%');
}

function headerOptions(mods: IrHeaderMods | undefined): Json {
  if (!mods) return {};
  const option = (h: { name: string; value: string }, appendAction: string) => ({
    header: { key: h.name, value: literalHeaderValue(h.value) },
    appendAction,
  });
  const toAdd = [
    ...mods.set.map((h) => option(h, 'OVERWRITE_IF_EXISTS_OR_ADD')),
    ...mods.add.map((h) => option(h, 'APPEND_IF_EXISTS_OR_ADD')),
  ];
  const out: Json = {};
  if (toAdd.length > 0) out.HeadersToAdd = toAdd;
  if (mods.remove.length > 0) out.HeadersToRemove = mods.remove;
  return out;
}

function prefixed(prefix: 'request' | 'response', mods: IrHeaderMods | undefined): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(headerOptions(mods))) out[`${prefix}${k}`] = v;
  return out;
}

function stringMatcher(kind: 'exact' | 'regex', value: string): Json {
  return kind === 'exact' ? { exact: value } : { safeRegex: { regex: value } };
}

function matchJson(m: IrMatch, path: Json): Json {
  const headers: Json[] = m.headers.map((h) => ({
    name: h.name,
    stringMatch: stringMatcher(h.kind, h.value),
  }));
  if (m.method) headers.push({ name: ':method', stringMatch: { exact: m.method } });
  const out: Json = { ...path };
  if (headers.length > 0) out.headers = headers;
  if (m.queryParams.length > 0) {
    out.queryParameters = m.queryParams.map(
      (q): Json => ({ name: q.name, stringMatch: stringMatcher(q.kind, q.value) }),
    );
  }
  return out;
}

/**
 * A Gateway API segment prefix `/foo` becomes two Envoy matches: `path: /foo` and `prefix: /foo/`
 * (grpc-js-xds does not know `path_separated_prefix`). `/` stays one `prefix: /`.
 */
function pathVariants(m: IrMatch): { path: Json; piece: 'exact' | 'slash' | 'root' | 'other' }[] {
  const p = m.path;
  if (p.kind === 'exact') return [{ path: { path: p.value }, piece: 'other' }];
  if (p.kind === 'regex') return [{ path: { safeRegex: { regex: p.value } }, piece: 'other' }];
  if (p.value === '/') return [{ path: { prefix: '/' }, piece: 'root' }];
  return [
    { path: { path: p.value }, piece: 'exact' },
    { path: { prefix: `${p.value}/` }, piece: 'slash' },
  ];
}

/** prefix_rewrite for one piece of a split prefix match, so `/foo/bar` → `<replacement>/bar`. */
function prefixRewriteFor(replacement: string, piece: 'exact' | 'slash' | 'root' | 'other'): string {
  const trimmed = replacement.replace(/\/+$/, '');
  if (piece === 'exact') return trimmed || '/';
  return `${trimmed}/`;
}

function pathRewriteJson(rw: IrPathRewrite, piece: 'exact' | 'slash' | 'root' | 'other', redirect: boolean): Json {
  if (rw.kind === 'prefix') return { prefixRewrite: prefixRewriteFor(rw.value, piece) };
  if (redirect) return { pathRedirect: rw.value };
  // RE2's rewrite string gives `\` a meaning (`\1` is a group): keep the path literal.
  return { regexRewrite: { pattern: { regex: '^/.*$' }, substitution: rw.value.replaceAll('\\', '\\\\') } };
}

const REDIRECT_CODES: Record<number, string> = {
  301: 'MOVED_PERMANENTLY',
  302: 'FOUND',
  303: 'SEE_OTHER',
  307: 'TEMPORARY_REDIRECT',
  308: 'PERMANENT_REDIRECT',
};

function weightedCluster(b: IrBackend): Json {
  return {
    name: b.cluster,
    weight: b.weight,
    ...prefixed('request', b.requestHeaders),
    ...prefixed('response', b.responseHeaders),
  };
}

function actionJson(a: IrAction, piece: 'exact' | 'slash' | 'root' | 'other', proxyless: boolean): Json {
  if (proxyless && a.kind !== 'forward') return { route: { cluster: INVALID_BACKEND_CLUSTER } };
  if (a.kind === 'direct') return { directResponse: { status: a.status, body: { inlineString: `${a.body}\n` } } };
  if (a.kind === 'redirect') {
    const r: Json = { responseCode: REDIRECT_CODES[a.statusCode] ?? 'FOUND' };
    if (a.port !== undefined) r.portRedirect = a.port;
    if (a.scheme) r.schemeRedirect = a.scheme;
    if (a.hostname) r.hostRedirect = a.hostname;
    if (a.path) Object.assign(r, pathRewriteJson(a.path, piece, true));
    return { redirect: r };
  }
  const route: Json = {};
  const single = a.backends.length === 1 && a.invalidWeight === 0 ? a.backends[0] : undefined;
  if (single && !single.requestHeaders && !single.responseHeaders) {
    route.cluster = single.cluster;
  } else {
    const clusters = a.backends.map(weightedCluster);
    if (a.invalidWeight > 0) clusters.push({ name: INVALID_BACKEND_CLUSTER, weight: a.invalidWeight });
    route.weightedClusters = { clusters };
  }
  // A share meant for an invalid backend names a cluster that does not exist: answer it with 500.
  if (a.invalidWeight > 0) {
    route.clusterNotFoundResponseCode = a.invalidStatus === 503 ? 'SERVICE_UNAVAILABLE' : 'INTERNAL_SERVER_ERROR';
  }
  if (a.hostRewrite !== undefined) route.hostRewriteLiteral = a.hostRewrite;
  if (a.pathRewrite) Object.assign(route, pathRewriteJson(a.pathRewrite, piece, false));
  if (a.timeoutMs !== undefined) route.timeout = duration(a.timeoutMs);
  if (a.retry) {
    const policy: Json = {
      retryOn:
        a.retry.codes.length > 0
          ? 'connect-failure,refused-stream,retriable-status-codes'
          : 'connect-failure,refused-stream',
      numRetries: a.retry.attempts,
    };
    if (a.retry.codes.length > 0) policy.retriableStatusCodes = a.retry.codes;
    if (a.retry.backoffMs !== undefined) policy.retryBackOff = { baseInterval: duration(a.retry.backoffMs) };
    // With retries, timeouts.backendRequest bounds each attempt; timeouts.request the whole.
    if (a.perTryTimeoutMs) policy.perTryTimeout = duration(a.perTryTimeoutMs);
    route.retryPolicy = policy;
  }
  if (a.mirrors.length > 0) {
    route.requestMirrorPolicies = a.mirrors.map((m) => {
      const policy: Json = { cluster: m.cluster };
      if (m.perMillion < 1_000_000) {
        policy.runtimeFraction = { defaultValue: { numerator: m.perMillion, denominator: 'MILLION' } };
      }
      return policy;
    });
  }
  return { route };
}

/** A Gateway API CORS origin (`*` greedy to the left, `*` alone: any) as an Envoy string matcher. */
function originMatcher(origin: string): Json {
  const regex = originRegex(origin);
  return regex === undefined ? { exact: origin } : { safeRegex: { regex } };
}

/** The RE2 regex a CORS origin with wildcards becomes (undefined: matched exactly). */
export function originRegex(origin: string): string | undefined {
  if (origin === '*') return '.*';
  if (!origin.includes('*')) return undefined;
  return origin.split('*').map(escapeRegex).join('.*');
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function corsPolicy(c: IrCors): Json {
  const policy: Json = {
    '@type': `${T}envoy.extensions.filters.http.cors.v3.CorsPolicy`,
    allowOriginStringMatch: c.allowOrigins.map(originMatcher),
  };
  if (c.allowMethods.length > 0) policy.allowMethods = c.allowMethods.join(',');
  if (c.allowHeaders.length > 0) policy.allowHeaders = c.allowHeaders.join(',');
  if (c.exposeHeaders.length > 0) policy.exposeHeaders = c.exposeHeaders.join(',');
  if (c.maxAgeSeconds !== undefined) policy.maxAge = String(c.maxAgeSeconds);
  if (c.allowCredentials !== undefined) policy.allowCredentials = c.allowCredentials;
  return policy;
}

function renderRoutes(r: IrRoute, proxyless: boolean): Json[] {
  return pathVariants(r.match).map(({ path, piece }, _i, all) => {
    const out: Json = {
      name: all.length > 1 ? `${r.name}/${piece}` : r.name,
      match: matchJson(r.match, path),
      ...actionJson(r.action, piece, proxyless),
      ...prefixed('request', r.requestHeaders),
      ...prefixed('response', r.responseHeaders),
    };
    if (r.cors && !proxyless) out.typedPerFilterConfig = { [CORS_FILTER]: corsPolicy(r.cors) };
    return out;
  });
}

export function renderRouteConfig(rc: IrRouteConfig, proxyless = false): Json {
  return {
    name: rc.name,
    // The spec: the port in a Host header is ignored for matching, and forwarded unchanged.
    ignorePortInHostMatching: true,
    virtualHosts: rc.virtualHosts.map((vh) => ({
      name: vh.name,
      domains: [vh.domain],
      routes: vh.routes.flatMap((r) => renderRoutes(r, proxyless)),
    })),
  };
}

export function renderCluster(c: IrCluster): Json {
  const out: Json = {
    name: c.name,
    type: 'EDS',
    edsClusterConfig: { edsConfig: ADS, serviceName: c.endpoints },
    connectTimeout: '5s',
    lbPolicy: 'ROUND_ROBIN',
  };
  if (c.protocol === 'h2c') {
    out.typedExtensionProtocolOptions = {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': `${T}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`,
        explicitHttpConfig: { http2ProtocolOptions: {} },
      },
    };
  }
  return out;
}

export function renderEndpoints(e: IrEndpoints): Json {
  const byZone = new Map<string, Json[]>();
  for (const ep of e.endpoints) {
    const zone = ep.zone ?? '';
    const list = byZone.get(zone) ?? [];
    list.push({
      endpoint: { address: { socketAddress: { address: ep.address, portValue: ep.port } } },
      healthStatus: 'HEALTHY',
    });
    byZone.set(zone, list);
  }
  const zones = [...byZone.keys()].sort();
  const out: Json = { clusterName: e.name };
  if (zones.length > 0) {
    // gRPC ignores localities without a weight, so every locality gets weight 1.
    out.endpoints = zones.map((zone) => ({
      // grpc-js-xds rejects an endpoint group without a locality, even an empty one.
      locality: zone ? { zone } : ({} as Json),
      lbEndpoints: byZone.get(zone) ?? [],
      loadBalancingWeight: 1,
    }));
  }
  return out;
}

export function renderSecret(s: IrSecret): Json {
  return {
    name: s.name,
    tlsCertificate: {
      certificateChain: { inlineString: s.certificateChain },
      privateKey: { inlineString: s.privateKey },
    },
  };
}
