// Test helper: decides what Envoy would do with a request, given a rendered RouteConfiguration
// (proto3 JSON), following Envoy's documented matching rules (virtual host by most specific domain,
// then the first route whose match holds). Lets tests assert routing decisions, not JSON shapes.

import type { JsonValue } from '../../envoy/strict.ts';

type Json = { [key: string]: JsonValue };

export interface Request {
  host: string;
  path: string;
  method?: string;
  headers?: Record<string, string>;
}

export type Decision =
  | { kind: 'none'; status: 404 }
  | {
      kind: 'forward';
      route: string;
      /** cluster → weight */
      clusters: Record<string, number>;
      path: string;
      host: string;
      mirrors: string[];
      timeout?: string;
      notFoundCode?: string;
    }
  | { kind: 'redirect'; route: string; location: string; code: string }
  | { kind: 'direct'; route: string; status: number };

function domainRank(domain: string, host: string): number {
  if (domain === host) return 3_000_000;
  if (domain === '*') return 0;
  if (domain.startsWith('*') && host.endsWith(domain.slice(1)) && host.length > domain.length - 1) {
    return 2_000_000 + domain.length;
  }
  if (domain.endsWith('*') && host.startsWith(domain.slice(0, -1))) return 1_000_000 + domain.length;
  return -1;
}

function str(v: JsonValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function stringMatch(m: Json, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (m.exact !== undefined) return value === m.exact;
  const re = (m.safeRegex as Json | undefined)?.regex;
  if (typeof re === 'string') return new RegExp(`^(?:${re})$`).test(value);
  if (m.prefix !== undefined) return value.startsWith(String(m.prefix));
  return false;
}

function routeMatches(match: Json, req: Request, path: string, query: URLSearchParams): boolean {
  if (match.path !== undefined && path !== match.path) return false;
  if (match.prefix !== undefined && !path.startsWith(String(match.prefix))) return false;
  const re = (match.safeRegex as Json | undefined)?.regex;
  if (typeof re === 'string' && !new RegExp(`^(?:${re})$`).test(path)) return false;
  const headers: Record<string, string> = { ':method': req.method ?? 'GET' };
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
  for (const h of (match.headers ?? []) as Json[]) {
    if (!stringMatch(h.stringMatch as Json, headers[String(h.name).toLowerCase()])) return false;
  }
  for (const q of (match.queryParameters ?? []) as Json[]) {
    const v = query.get(String(q.name));
    if (!stringMatch(q.stringMatch as Json, v ?? undefined)) return false;
  }
  return true;
}

/** What Envoy does with `req` under the route configuration `rc`. */
export function route(rc: Json, req: Request): Decision {
  const host = req.host.replace(/:\d+$/, '').toLowerCase();
  const [rawPath, rawQuery] = req.path.split('?', 2) as [string, string | undefined];
  const query = new URLSearchParams(rawQuery ?? '');
  let best: Json | undefined;
  let bestRank = -1;
  for (const vh of (rc.virtualHosts ?? []) as Json[]) {
    for (const d of (vh.domains ?? []) as string[]) {
      const r = domainRank(d, host);
      if (r > bestRank) {
        bestRank = r;
        best = vh;
      }
    }
  }
  if (!best) return { kind: 'none', status: 404 };
  for (const r of (best.routes ?? []) as Json[]) {
    const match = r.match as Json;
    if (!routeMatches(match, req, rawPath, query)) continue;
    const name = String(r.name);
    if (r.directResponse) return { kind: 'direct', route: name, status: Number((r.directResponse as Json).status) };
    if (r.redirect) {
      const red = r.redirect as Json;
      const scheme = str(red.schemeRedirect) ?? (red.httpsRedirect ? 'https' : 'http');
      const port = red.portRedirect as number | undefined;
      // Envoy (Http::Utility::newUri): a host_redirect replaces host and port; otherwise the Host's
      // port stays unless port_redirect is set, or the scheme changes and the port is the request
      // scheme's (http here) default. A port_redirect is always written out.
      const requestPort = /:(\d+)$/.exec(req.host)?.[1];
      const keepPort = requestPort && port === undefined && !(scheme !== 'http' && requestPort === '80');
      const h = str(red.hostRedirect) ?? (keepPort ? `${host}:${requestPort}` : host);
      let path = rawPath;
      if (red.pathRedirect !== undefined) path = String(red.pathRedirect);
      else if (red.prefixRewrite !== undefined) path = rewritePrefix(match, rawPath, String(red.prefixRewrite));
      const portPart = port ? `:${port}` : '';
      const q = rawQuery ? `?${rawQuery}` : '';
      return {
        kind: 'redirect',
        route: name,
        location: `${scheme}://${h}${portPart}${path}${q}`,
        code: str(red.responseCode) ?? 'MOVED_PERMANENTLY',
      };
    }
    const action = r.route as Json;
    const clusters: Record<string, number> = {};
    if (action.cluster) clusters[String(action.cluster)] = 1;
    for (const c of ((action.weightedClusters as Json | undefined)?.clusters ?? []) as Json[]) {
      clusters[String(c.name)] = Number(c.weight);
    }
    let path = rawPath;
    if (action.prefixRewrite !== undefined) path = rewritePrefix(match, rawPath, String(action.prefixRewrite));
    const rx = action.regexRewrite as Json | undefined;
    if (rx) path = rawPath.replace(new RegExp(String((rx.pattern as Json).regex)), String(rx.substitution));
    const d: Decision = {
      kind: 'forward',
      route: name,
      clusters,
      path,
      host: str(action.hostRewriteLiteral) ?? req.host,
      mirrors: ((action.requestMirrorPolicies ?? []) as Json[]).map((m) => String(m.cluster)),
    };
    if (action.timeout !== undefined) d.timeout = String(action.timeout);
    if (action.clusterNotFoundResponseCode) d.notFoundCode = String(action.clusterNotFoundResponseCode);
    return d;
  }
  return { kind: 'none', status: 404 };
}

function rewritePrefix(match: Json, path: string, replacement: string): string {
  const matched = match.prefix !== undefined ? String(match.prefix) : String(match.path ?? '');
  return replacement + path.slice(matched.length);
}
