// Pure helpers that turn request attributes into descriptor values.

/** The address part of "ip:port", "[v6]:port" or a bare address. */
export function hostOf(address: string): string {
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    return end > 0 ? address.substring(1, end) : address;
  }
  const colon = address.indexOf(':');
  // More than one colon: a bare IPv6 address without a port.
  if (colon >= 0 && address.indexOf(':', colon + 1) < 0) return address.substring(0, colon);
  return address;
}

/**
 * The client address from X-Forwarded-For when `trustedHops` proxies in front append to it: the
 * `trustedHops`-th entry from the right. null when the header has fewer entries (then the peer
 * address is used: the request did not come through the trusted proxies).
 */
export function clientFromXff(xff: string, trustedHops: i32): string | null {
  const parts = xff.split(',');
  const i = parts.length - trustedHops;
  if (trustedHops <= 0 || i < 0) return null;
  const v = parts[i].trim();
  return v.length > 0 ? hostOf(v) : null;
}

/** The :path without its query string. */
export function pathOnly(path: string): string {
  const q = path.indexOf('?');
  return q < 0 ? path : path.substring(0, q);
}
