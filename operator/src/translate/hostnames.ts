// Gateway API hostname rules (apis/v1 Listener.Hostname and HTTPRouteSpec.Hostnames): a hostname is
// exact (`foo.example.com`) or a wildcard (`*.example.com`) that matches any name with at least one
// more label in front of the suffix (`a.example.com`, `a.b.example.com`, not `example.com`). `*` is
// used here for "any hostname" (a listener or route without hostnames).

export const ANY_HOST = '*';

export function isWildcard(host: string): boolean {
  return host.startsWith('*.');
}

/** Does `pattern` (exact, `*.suffix` or `*`) match the concrete or wildcard hostname `host`? */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === ANY_HOST) return true;
  if (pattern === host) return true;
  if (!isWildcard(pattern)) return false;
  const suffix = pattern.slice(1); // ".example.com"
  if (isWildcard(host)) {
    // `*.a.example.com` is inside `*.example.com`.
    const hostSuffix = host.slice(1);
    return hostSuffix.length > suffix.length && hostSuffix.endsWith(suffix);
  }
  return host.length > suffix.length && host.endsWith(suffix);
}

/**
 * The hostnames a route serves on a listener: the intersection of the listener hostname and the
 * route hostnames. `[]` means no intersection (the route does not attach); `['*']` means any host.
 */
export function intersectHostnames(listenerHost: string | undefined, routeHosts: readonly string[]): string[] {
  if (!listenerHost) return routeHosts.length === 0 ? [ANY_HOST] : dedupe(routeHosts);
  if (routeHosts.length === 0) return [listenerHost];
  const out: string[] = [];
  for (const h of routeHosts) {
    if (hostMatches(listenerHost, h)) out.push(h);
    else if (hostMatches(h, listenerHost)) out.push(listenerHost);
  }
  return dedupe(out);
}

function dedupe(hosts: readonly string[]): string[] {
  return [...new Set(hosts)];
}

/**
 * Orders hostnames from most to least specific, as the spec's route precedence wants: more
 * characters in a non-wildcard hostname first, then more characters; `*` last.
 */
export function compareHostSpecificity(a: string, b: string): number {
  return specificity(b) - specificity(a) || (a < b ? -1 : a > b ? 1 : 0);
}

function specificity(host: string): number {
  if (host === ANY_HOST) return 0;
  // Exact hostnames always outrank wildcards; among each kind, longer is more specific.
  return isWildcard(host) ? host.length : 1_000 + host.length;
}
