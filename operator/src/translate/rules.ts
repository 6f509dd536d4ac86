// One route's rules → IR routes. A rule is either compiled, compiled into a fail-closed 500 (its
// filters or backends cannot be honoured), or dropped as invalid; every problem is reported for the
// route's status.

import type {
  BackendObjectReference,
  GRPCRoute,
  GRPCRouteFilter,
  GRPCRouteMatch,
  HTTPBackendRef,
  HTTPHeaderFilter,
  HTTPRequestMirrorFilter,
  HTTPRequestRedirectFilter,
  HTTPRoute,
  HTTPRouteFilter,
  HTTPRouteMatch,
  HTTPRouteRule,
} from '../k8s/gateway-api.ts';
import { RouteReason } from '../k8s/gateway-api.ts';
import { originRegex } from './envoy.ts';
import {
  headerNameProblem,
  headerValueProblem,
  modifiedHeaderProblem,
  queryParamNameProblem,
  re2Problem,
} from './envoy-rules.ts';
import type { AnyRoute, IndexedInput } from './input.ts';
import { objectKey } from './input.ts';
import type {
  IrAction,
  IrBackend,
  IrCluster,
  IrCors,
  IrEndpoints,
  IrForward,
  IrHeaderMods,
  IrMatch,
  IrMirror,
  IrPathRewrite,
  IrRedirect,
  IrRoute,
  IrStringMatch,
} from './ir.ts';
import type { RefError } from './references.ts';
import { resolveBackend } from './references.ts';

/** The listener a route is compiled for (redirects derive their port from it). */
export interface ListenerContext {
  port: number;
  protocol: 'HTTP' | 'HTTPS';
}

/** An IR route with the data the spec's precedence order needs. */
export interface RankedRoute {
  route: IrRoute;
  /** HTTPRoute: 0 exact, 1 regex, 2 prefix. GRPCRoute: always 0. */
  pathRank: number;
  /** HTTPRoute: path length. GRPCRoute: characters of the service match, then of the method match. */
  pathLength: number;
  hasMethod: boolean;
  headers: number;
  queryParams: number;
  created: number;
  routeKey: string;
  rule: number;
  match: number;
}

export interface CompiledRoute {
  routes: RankedRoute[];
  clusters: IrCluster[];
  endpoints: IrEndpoints[];
  /** ResolvedRefs problems (backends, filters that cannot be honoured). */
  refErrors: RefError[];
  /** Rules dropped as invalid, with why. */
  droppedRules: string[];
  /** Rules that exist at all (to tell "all dropped" from "some dropped"). */
  ruleCount: number;
}

const DURATION = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };

/** Gateway API Duration ("1h30m", "500ms", "0s") → milliseconds, or undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/([0-9]+)(ms|h|m|s)/g)) total += Number(m[1]) * (UNIT_MS[m[2] as string] ?? 0);
  return total;
}

class InvalidRule extends Error {}

/** The string at `v`, or an invalid rule (a shape the API server's schema would refuse). */
function asString(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new InvalidRule(`${what} must be a string, not ${JSON.stringify(v)}`);
  return v;
}

function asCount(v: unknown, what: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new InvalidRule(`${what} must be an integer from 0 to ${max}, not ${JSON.stringify(v)}`);
  }
  return v;
}

function createdMs(ts: string | Date | undefined): number {
  if (ts === undefined) return Number.MAX_SAFE_INTEGER;
  const ms = ts instanceof Date ? ts.getTime() : Date.parse(ts);
  return Number.isNaN(ms) ? Number.MAX_SAFE_INTEGER : ms;
}

/** Envoy compiles every regex with RE2 (not JavaScript's RegExp): see envoy-rules.ts. */
function checkRegex(value: string, what: string): void {
  asString(value, what);
  const problem = re2Problem(value);
  if (problem) throw new InvalidRule(`${what} regex ${JSON.stringify(value)} ${problem}`);
}

/** Throws an invalid rule when `problem` (from envoy-rules.ts) says Envoy would refuse `value`. */
function envoyCheck(problem: string | undefined, what: string, value: string): void {
  if (problem) throw new InvalidRule(`${what} ${JSON.stringify(value)} ${problem}`);
}

/** Keeps the first of several matches on the same name (the spec: later ones are ignored). */
function stringMatches(
  items: readonly { type?: string; name: string; value: string }[] | undefined,
  caseInsensitiveNames: boolean,
  what: string,
): IrStringMatch[] {
  const out: IrStringMatch[] = [];
  const seen = new Set<string>();
  for (const item of items ?? []) {
    asString(item?.name, `${what} name`);
    asString(item.value, `${what} ${item.name} value`);
    envoyCheck(
      caseInsensitiveNames ? headerNameProblem(item.name) : queryParamNameProblem(item.name),
      `${what} name`,
      item.name,
    );
    const name = caseInsensitiveNames ? item.name.toLowerCase() : item.name;
    if (seen.has(name)) continue;
    seen.add(name);
    const kind = item.type === 'RegularExpression' ? 'regex' : 'exact';
    if (item.type && item.type !== 'Exact' && item.type !== 'RegularExpression') {
      throw new InvalidRule(`${what} match type ${item.type} is not supported`);
    }
    if (kind === 'regex') checkRegex(item.value, `${what} ${item.name}`);
    out.push({ name, kind, value: item.value });
  }
  return out;
}

function httpMatch(m: HTTPRouteMatch): IrMatch {
  const type = m.path?.type ?? 'PathPrefix';
  const value = asString(m.path?.value ?? '/', 'path value');
  let path: IrMatch['path'];
  if (type === 'Exact') path = { kind: 'exact', value };
  else if (type === 'PathPrefix') {
    // The spec ignores a trailing slash in a prefix: `/abc/` matches like `/abc`.
    const trimmed = value.length > 1 ? value.replace(/\/+$/, '') : value;
    path = { kind: 'prefix', value: trimmed || '/' };
  } else if (type === 'RegularExpression') {
    checkRegex(value, 'path');
    path = { kind: 'regex', value };
  } else throw new InvalidRule(`path match type ${type} is not supported`);
  if (path.kind !== 'regex' && !value.startsWith('/')) throw new InvalidRule(`path ${value} must start with '/'`);
  const match: IrMatch = {
    path,
    headers: stringMatches(m.headers, true, 'header'),
    queryParams: stringMatches(m.queryParams, false, 'query parameter'),
  };
  if (m.method !== undefined) match.method = asString(m.method, 'method');
  return match;
}

const GRPC_NAME = /^[A-Za-z0-9_.]+$/;

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** GRPCRoute method match → path match on `/<service>/<method>`. */
function grpcMatch(m: GRPCRouteMatch): IrMatch {
  const headers = stringMatches(m.headers, true, 'header');
  const method = m.method;
  const none: IrMatch = { path: { kind: 'prefix', value: '/' }, headers, queryParams: [] };
  if (!method || (!method.service && !method.method)) return none;
  const type = method.type ?? 'Exact';
  const { service, method: name } = method;
  if (type === 'Exact') {
    for (const part of [service, name]) {
      if (part !== undefined && !GRPC_NAME.test(part)) throw new InvalidRule(`gRPC name ${part} is not valid`);
    }
    if (service && name) return { ...none, path: { kind: 'exact', value: `/${service}/${name}` } };
    if (service) return { ...none, path: { kind: 'prefix', value: `/${service}` } };
    return { ...none, path: { kind: 'regex', value: `/[^/]+/${escapeRegex(name ?? '')}` } };
  }
  if (type !== 'RegularExpression') throw new InvalidRule(`gRPC method match type ${type} is not supported`);
  if (service) checkRegex(service, 'gRPC service');
  if (name) checkRegex(name, 'gRPC method');
  const path = `/(${service || '[^/]+'})/(${name || '[^/]+'})`;
  checkRegex(path, 'gRPC method match (as the path regex Envoy gets)');
  return { ...none, path: { kind: 'regex', value: path } };
}

function headerMods(f: HTTPHeaderFilter | undefined, into?: IrHeaderMods): IrHeaderMods {
  const mods: IrHeaderMods = into ?? { set: [], add: [], remove: [] };
  for (const h of [...(f?.set ?? []), ...(f?.add ?? [])]) {
    asString(h?.name, 'header name');
    asString(h.value, `header ${h.name} value`);
    envoyCheck(modifiedHeaderProblem(h.name, 'modified'), 'header', h.name);
    envoyCheck(headerValueProblem(h.value), `header ${h.name} value`, h.value);
  }
  for (const name of f?.remove ?? []) {
    asString(name, 'removed header name');
    envoyCheck(modifiedHeaderProblem(name, 'removed'), 'removed header', name);
  }
  for (const h of f?.set ?? []) mods.set.push({ name: h.name.toLowerCase(), value: h.value });
  for (const h of f?.add ?? []) mods.add.push({ name: h.name.toLowerCase(), value: h.value });
  for (const name of f?.remove ?? []) mods.remove.push(name.toLowerCase());
  return mods;
}

function mirrorShare(f: HTTPRequestMirrorFilter): number {
  if (f.percent !== undefined) return asCount(f.percent, 'mirror percent', 100) * 10_000;
  if (f.fraction) {
    asCount(f.fraction.numerator, 'mirror fraction numerator', 2 ** 31);
    const d = asCount(f.fraction.denominator ?? 100, 'mirror fraction denominator', 2 ** 31);
    if (d <= 0) return 0;
    return Math.round(Math.min(f.fraction.numerator / d, 1) * 1_000_000);
  }
  return 1_000_000;
}

function redirect(f: HTTPRequestRedirectFilter, ctx: ListenerContext): IrRedirect {
  // Port per spec: explicit port; else the well-known port of an explicit scheme; else the listener's.
  const wellKnown = (s: string | undefined) => (s === 'https' ? 443 : s === 'http' ? 80 : undefined);
  if (f.port !== undefined) asCount(f.port, 'redirect port', 65535);
  if (f.statusCode !== undefined && ![301, 302, 303, 307, 308].includes(f.statusCode)) {
    throw new InvalidRule(`redirect statusCode ${JSON.stringify(f.statusCode)} is not supported`);
  }
  if (f.scheme !== undefined && f.scheme !== 'http' && f.scheme !== 'https') {
    throw new InvalidRule(`redirect scheme ${JSON.stringify(f.scheme)} is not supported`);
  }
  if (f.hostname !== undefined) {
    envoyCheck(headerValueProblem(asString(f.hostname, 'redirect hostname')), 'redirect hostname', f.hostname);
  }
  const port = f.port ?? wellKnown(f.scheme) ?? ctx.port;
  const finalScheme = f.scheme ?? (ctx.protocol === 'HTTPS' ? 'https' : 'http');
  const r: IrRedirect = { kind: 'redirect', statusCode: f.statusCode ?? 302 };
  // Without a port_redirect Envoy keeps the port of the request's Host (it drops it only when the
  // scheme changes and it is the old scheme's default), so on a listener with a non-standard port
  // (Host `x:8080`) the well-known port must be given explicitly; Envoy then writes `https://x:443`.
  const listenerWellKnown = ctx.port === wellKnown(ctx.protocol === 'HTTPS' ? 'https' : 'http');
  if (port !== wellKnown(finalScheme) || (!listenerWellKnown && !f.hostname)) r.port = port;
  if (f.scheme) r.scheme = f.scheme;
  if (f.hostname) r.hostname = f.hostname;
  if (f.path) r.path = pathModifier(f.path);
  return r;
}

function pathModifier(p: { type: string; replaceFullPath?: string; replacePrefixMatch?: string }): IrPathRewrite {
  if (p.replaceFullPath !== undefined) {
    envoyCheck(
      headerValueProblem(asString(p.replaceFullPath, 'replaceFullPath')),
      'replaceFullPath',
      p.replaceFullPath,
    );
  }
  if (p.replacePrefixMatch !== undefined) {
    const v = asString(p.replacePrefixMatch, 'replacePrefixMatch');
    envoyCheck(headerValueProblem(v), 'replacePrefixMatch', v);
  }
  if (p.type === 'ReplaceFullPath' && p.replaceFullPath !== undefined)
    return { kind: 'full', value: p.replaceFullPath };
  if (p.type === 'ReplacePrefixMatch' && p.replacePrefixMatch !== undefined) {
    return { kind: 'prefix', value: p.replacePrefixMatch };
  }
  throw new InvalidRule(`path modifier ${p.type} needs its value`);
}

type AnyFilter = HTTPRouteFilter | GRPCRouteFilter;

interface RuleParts {
  matches: IrMatch[];
  filters: readonly AnyFilter[];
  backendRefs: readonly HTTPBackendRef[];
  timeouts?: HTTPRouteRule['timeouts'];
  retry?: HTTPRouteRule['retry'];
}

/** Compiles all rules of one route for one listener. Never throws. */
export function compileRoute(index: IndexedInput, r: AnyRoute, ctx: ListenerContext): CompiledRoute {
  const ns = r.route.metadata.namespace ?? 'default';
  const routeKey = objectKey(ns, r.route.metadata.name);
  const created = createdMs(r.route.metadata.creationTimestamp);
  const out: CompiledRoute = { routes: [], clusters: [], endpoints: [], refErrors: [], droppedRules: [], ruleCount: 0 };
  const rules = (r.kind === 'HTTPRoute' ? (r.route as HTTPRoute).spec?.rules : (r.route as GRPCRoute).spec?.rules) ?? [
    {},
  ];
  out.ruleCount = rules.length;
  const withoutEndpoints = new Set<string>();
  const resolve = (ref: BackendObjectReference) => {
    const res = resolveBackend(index, r.kind, ns, ref, r.kind === 'GRPCRoute');
    if (!res.ok) {
      out.refErrors.push(res.error);
      return undefined;
    }
    out.clusters.push(res.value.cluster);
    out.endpoints.push(res.value.endpoints);
    if (res.value.endpoints.endpoints.length === 0) withoutEndpoints.add(res.value.cluster.name);
    return res.value.cluster.name;
  };
  const hasEndpoints = (cluster: string) => !withoutEndpoints.has(cluster);

  rules.forEach((rule, ruleIndex) => {
    try {
      const parts: RuleParts =
        r.kind === 'HTTPRoute'
          ? {
              matches: ((rule as HTTPRouteRule).matches?.length ? (rule as HTTPRouteRule).matches! : [{}]).map(
                httpMatch,
              ),
              filters: (rule as HTTPRouteRule).filters ?? [],
              backendRefs: (rule as HTTPRouteRule).backendRefs ?? [],
              timeouts: (rule as HTTPRouteRule).timeouts,
              retry: (rule as HTTPRouteRule).retry,
            }
          : {
              matches: (rule.matches?.length ? (rule.matches as GRPCRouteMatch[]) : [{}]).map(grpcMatch),
              filters: rule.filters ?? [],
              backendRefs: (rule.backendRefs ?? []) as HTTPBackendRef[],
            };
      const compiled = compileRule(parts, ctx, resolve, hasEndpoints, out.refErrors);
      if (r.kind === 'GRPCRoute') compiled.action = grpcAction(compiled.action);
      const grpcMatches =
        r.kind === 'GRPCRoute' ? (rule.matches?.length ? (rule.matches as GRPCRouteMatch[]) : [{}]) : [];
      parts.matches.forEach((match, matchIndex) => {
        // GRPCRoute precedence: more characters in the service match, then in the method match.
        const grpc = grpcMatches[matchIndex]?.method;
        const route: IrRoute = {
          name: `${r.kind}/${routeKey}/rule/${ruleIndex}/match/${matchIndex}`,
          match,
          action: compiled.action,
        };
        if (compiled.requestHeaders) route.requestHeaders = compiled.requestHeaders;
        if (compiled.responseHeaders) route.responseHeaders = compiled.responseHeaders;
        if (compiled.cors) route.cors = compiled.cors;
        out.routes.push({
          route,
          pathRank: r.kind === 'GRPCRoute' ? 0 : match.path.kind === 'exact' ? 0 : match.path.kind === 'regex' ? 1 : 2,
          pathLength:
            r.kind === 'GRPCRoute'
              ? (grpc?.service?.length ?? 0) * 1_000 + (grpc?.method?.length ?? 0)
              : match.path.value.length,
          hasMethod: match.method !== undefined,
          headers: match.headers.length,
          queryParams: match.queryParams.length,
          created,
          routeKey,
          rule: ruleIndex,
          match: matchIndex,
        });
      });
    } catch (e) {
      // Anything else thrown here comes from a shape the schema would refuse: drop the rule too.
      const why = e instanceof Error ? e.message : String(e);
      out.droppedRules.push(`rule ${ruleIndex}${typeof rule?.name === 'string' ? ` (${rule.name})` : ''}: ${why}`);
    }
  });
  return out;
}

interface CompiledRule {
  action: IrAction;
  requestHeaders?: IrHeaderMods;
  responseHeaders?: IrHeaderMods;
  cors?: IrCors;
}

const HTTP_500 = (body: string): IrAction => ({ kind: 'direct', status: 500, body });

/**
 * GRPCRoute: where an HTTPRoute answers 500 (no valid backend, all weights 0, an invalid backend's
 * share), the spec wants gRPC UNAVAILABLE, which Envoy sends for HTTP 503 (500 becomes UNKNOWN).
 * GRPCRoutes have no timeouts: Envoy's default route timeout (15 s) would cut every call and stream
 * still answering after 15 s, so it is disabled; the client's deadline bounds a call.
 */
function grpcAction(action: IrAction): IrAction {
  if (action.kind === 'direct' && action.status === 500) return { ...action, status: 503 };
  if (action.kind !== 'forward') return action;
  const out: IrForward = { ...action, timeoutMs: action.timeoutMs ?? 0 };
  if (action.invalidWeight > 0) out.invalidStatus = 503;
  return out;
}

function compileRule(
  parts: RuleParts,
  ctx: ListenerContext,
  resolve: (ref: BackendObjectReference) => string | undefined,
  hasEndpoints: (cluster: string) => boolean,
  refErrors: RefError[],
): CompiledRule {
  const out: CompiledRule = { action: HTTP_500('no backend') };
  let redirectAction: IrRedirect | undefined;
  let hostRewrite: string | undefined;
  let pathRewrite: IrPathRewrite | undefined;
  const mirrors: IrMirror[] = [];
  let unsupported: string | undefined;
  for (const f of parts.filters) {
    switch (f.type) {
      case 'RequestHeaderModifier':
        out.requestHeaders = headerMods(f.requestHeaderModifier, out.requestHeaders);
        break;
      case 'ResponseHeaderModifier':
        out.responseHeaders = headerMods(f.responseHeaderModifier, out.responseHeaders);
        break;
      case 'RequestRedirect':
        if (!('requestRedirect' in f) || !f.requestRedirect)
          throw new InvalidRule('RequestRedirect without its config');
        redirectAction = redirect(f.requestRedirect, ctx);
        break;
      case 'URLRewrite':
        if (!('urlRewrite' in f) || !f.urlRewrite) throw new InvalidRule('URLRewrite without its config');
        if (f.urlRewrite.hostname !== undefined) {
          hostRewrite = asString(f.urlRewrite.hostname, 'rewrite hostname');
          envoyCheck(headerValueProblem(hostRewrite), 'rewrite hostname', hostRewrite);
        }
        if (f.urlRewrite.path) pathRewrite = pathModifier(f.urlRewrite.path);
        break;
      case 'CORS': {
        const c = 'cors' in f ? f.cors : undefined;
        if (!c) throw new InvalidRule('CORS without its config');
        const strings = (v: string[] | undefined, what: string) => (v ?? []).map((x) => asString(x, what));
        for (const origin of strings(c.allowOrigins, 'CORS origin')) {
          const regex = originRegex(origin);
          if (regex !== undefined) envoyCheck(re2Problem(regex), 'CORS origin (as a regex)', origin);
        }
        out.cors = {
          allowOrigins: strings(c.allowOrigins, 'CORS origin'),
          allowMethods: strings(c.allowMethods, 'CORS method'),
          allowHeaders: strings(c.allowHeaders, 'CORS header'),
          exposeHeaders: strings(c.exposeHeaders, 'CORS header'),
        };
        if (c.maxAge !== undefined) out.cors.maxAgeSeconds = asCount(c.maxAge, 'CORS maxAge', 2 ** 31);
        if (c.allowCredentials !== undefined) out.cors.allowCredentials = c.allowCredentials === true;
        break;
      }
      case 'RequestMirror': {
        if (!f.requestMirror) throw new InvalidRule('RequestMirror without its config');
        const cluster = resolve(f.requestMirror.backendRef);
        if (cluster) mirrors.push({ cluster, perMillion: mirrorShare(f.requestMirror) });
        break;
      }
      default:
        // ExternalAuth, ExtensionRef...: not honoured, so the rule must not forward (fail closed).
        unsupported = f.type;
    }
  }
  if (redirectAction && (hostRewrite !== undefined || pathRewrite)) {
    throw new InvalidRule('RequestRedirect and URLRewrite cannot be used together');
  }
  const prefixRewrite = pathRewrite?.kind === 'prefix' || redirectAction?.path?.kind === 'prefix';
  if (prefixRewrite && parts.matches.some((m) => m.path.kind !== 'prefix')) {
    throw new InvalidRule('ReplacePrefixMatch needs every match of the rule to be a PathPrefix match');
  }
  if (unsupported) {
    refErrors.push({
      reason: RouteReason.UnsupportedValue,
      message: `filter type ${unsupported} is not supported; its rule answers 500`,
    });
    out.action = HTTP_500(`filter ${unsupported} is not supported`);
    return out;
  }
  if (redirectAction) {
    out.action = redirectAction;
    return out;
  }

  let backends: IrBackend[] = [];
  let invalidWeight = 0;
  for (const ref of parts.backendRefs) {
    const weight = asCount(ref.weight ?? 1, 'backend weight', 1_000_000);
    const cluster = resolve(ref);
    let backendUnsupported: string | undefined;
    const b: IrBackend = { cluster: cluster ?? '', weight };
    for (const f of ref.filters ?? []) {
      if (f.type === 'RequestHeaderModifier') b.requestHeaders = headerMods(f.requestHeaderModifier, b.requestHeaders);
      else if (f.type === 'ResponseHeaderModifier') {
        b.responseHeaders = headerMods(f.responseHeaderModifier, b.responseHeaders);
      } else backendUnsupported = f.type;
    }
    if (backendUnsupported) {
      refErrors.push({
        reason: RouteReason.UnsupportedValue,
        message: `backend filter type ${backendUnsupported} is not supported; its share answers 500`,
      });
    }
    if (weight <= 0) continue;
    if (!cluster || backendUnsupported) invalidWeight += weight;
    else backends.push(b);
  }
  // A Service that exists but has no ready endpoints (scaled to zero, mid-rollout) is drained: the
  // rule's other backends absorb its share instead of that share failing with 503. With no ready
  // backend at all, the weights stay and Envoy answers 503. Invalid backends keep their 500 share.
  const serving = backends.filter((b) => hasEndpoints(b.cluster));
  if (serving.length > 0) backends = serving;
  if (backends.length === 0) {
    // No backendRefs, all weights 0, or every backend invalid: the spec wants 500.
    out.action = HTTP_500(parts.backendRefs.length === 0 ? 'no backendRefs' : 'no valid backend');
    return out;
  }
  const forward: IrAction = { kind: 'forward', backends, invalidWeight, mirrors };
  if (hostRewrite !== undefined) forward.hostRewrite = hostRewrite;
  if (pathRewrite) forward.pathRewrite = pathRewrite;
  const t = parts.timeouts;
  if (t?.request !== undefined) {
    const ms = parseDuration(t.request);
    if (ms === undefined) throw new InvalidRule(`timeouts.request ${t.request} is not a valid duration`);
    forward.timeoutMs = ms;
  }
  if (t?.backendRequest !== undefined) {
    const ms = parseDuration(t.backendRequest);
    if (ms === undefined) throw new InvalidRule(`timeouts.backendRequest ${t.backendRequest} is not a valid duration`);
    if (forward.timeoutMs !== undefined && forward.timeoutMs !== 0 && ms > forward.timeoutMs) {
      throw new InvalidRule('timeouts.backendRequest must not be longer than timeouts.request');
    }
    forward.perTryTimeoutMs = ms;
    const attempts = parts.retry ? (parts.retry.attempts ?? 1) : 0;
    if (attempts > 0) {
      // With retries, each attempt gets backendRequest; without a request timeout the whole may
      // take every attempt.
      forward.timeoutMs ??= ms === 0 ? 0 : ms * (attempts + 1);
    } else if (forward.timeoutMs === undefined || (ms !== 0 && (forward.timeoutMs === 0 || ms < forward.timeoutMs))) {
      // Without retries there is one attempt, so the backend timeout bounds the whole request too.
      forward.timeoutMs = ms;
    }
  }
  const retry = parts.retry;
  if (retry && (retry.attempts ?? 1) > 0) {
    asCount(retry.attempts ?? 1, 'retry attempts', 1_000);
    const codes = [...new Set(retry.codes ?? [])].sort((a, b) => a - b);
    if (codes.some((c) => !Number.isInteger(c) || c < 400 || c > 599)) {
      throw new InvalidRule(`retry.codes must be HTTP status codes from 400 to 599`);
    }
    forward.retry = { attempts: retry.attempts ?? 1, codes };
    if (retry.backoff !== undefined) {
      const ms = parseDuration(retry.backoff);
      if (ms === undefined) throw new InvalidRule(`retry.backoff ${retry.backoff} is not a valid duration`);
      if (ms > 0) forward.retry.backoffMs = ms;
    }
  }
  out.action = forward;
  return out;
}

/** The spec's precedence order between matches of all routes on one host (first wins). */
export function comparePrecedence(a: RankedRoute, b: RankedRoute): number {
  return (
    a.pathRank - b.pathRank ||
    b.pathLength - a.pathLength ||
    Number(b.hasMethod) - Number(a.hasMethod) ||
    b.headers - a.headers ||
    b.queryParams - a.queryParams ||
    a.created - b.created ||
    (a.routeKey < b.routeKey ? -1 : a.routeKey > b.routeKey ? 1 : 0) ||
    a.rule - b.rule ||
    a.match - b.match
  );
}
