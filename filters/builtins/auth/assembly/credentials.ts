// Where a credential comes from: a header (with an optional scheme prefix such as "Bearer "), a query
// parameter, or a cookie. Pure string functions over header values and the :path.
import { isSpace } from 'util/string';
import { startsWithIgnoreCase } from '../../shared/assembly/ascii';

export const FROM_HEADER: i32 = 0;
export const FROM_QUERY: i32 = 1;
export const FROM_COOKIE: i32 = 2;

export class CredentialSource {
  constructor(
    public kind: i32,
    /** Header name (lower case), query parameter or cookie name. */
    public name: string,
    /** For headers: a scheme prefix matched case-insensitively ("Bearer "); "" takes the whole value. */
    public prefix: string = '',
  ) {}

  describe(): string {
    if (this.kind == FROM_QUERY) return 'query parameter ' + this.name;
    if (this.kind == FROM_COOKIE) return 'cookie ' + this.name;
    return 'header ' + this.name;
  }
}

/** The credential in a header value after the prefix, or null when the prefix does not match. */
export function afterPrefix(value: string, prefix: string): string | null {
  if (!startsWithIgnoreCase(value, prefix)) return null;
  // Trimmed in place: one copy per request, not one for substring and one for trim.
  let start = prefix.length;
  let end = value.length;
  while (start < end && isSpace(value.charCodeAt(start))) start++;
  while (end > start && isSpace(value.charCodeAt(end - 1))) end--;
  if (start == end) return prefix.length == 0 ? '' : null;
  return start == 0 && end == value.length ? value : value.substring(start, end);
}

function hexValue(c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Percent-decoding for ASCII credentials ('+' stays '+': tokens and keys never mean a space by it). */
export function percentDecode(s: string): string {
  if (s.indexOf('%') < 0) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 37 && i + 2 < s.length) {
      const h = hexValue(s.charCodeAt(i + 1));
      const l = hexValue(s.charCodeAt(i + 2));
      if (h >= 0 && l >= 0) {
        out += String.fromCharCode((h << 4) | l);
        i += 2;
        continue;
      }
    }
    out += String.fromCharCode(c);
  }
  return out;
}

/** The value of query parameter `name` in a :path, or null. */
export function queryParam(path: string, name: string): string | null {
  const q = path.indexOf('?');
  if (q < 0) return null;
  const parts = path.substring(q + 1).split('&');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    const eq = p.indexOf('=');
    const key = eq < 0 ? p : p.substring(0, eq);
    if (key == name) return eq < 0 ? '' : percentDecode(p.substring(eq + 1));
  }
  return null;
}

/** The :path without every occurrence of query parameter `name` (so the upstream never sees it). */
export function withoutQueryParam(path: string, name: string): string {
  const q = path.indexOf('?');
  if (q < 0) return path;
  const parts = path.substring(q + 1).split('&');
  const kept: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    const eq = p.indexOf('=');
    if ((eq < 0 ? p : p.substring(0, eq)) != name) kept.push(p);
  }
  return kept.length > 0 ? path.substring(0, q + 1) + kept.join('&') : path.substring(0, q);
}

/** The value of cookie `name` in a Cookie header, or null. */
export function cookieValue(header: string, name: string): string | null {
  const parts = header.split(';');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i].trim();
    const eq = p.indexOf('=');
    if (eq > 0 && p.substring(0, eq) == name) {
      let v = p.substring(eq + 1);
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.substring(1, v.length - 1);
      return v;
    }
  }
  return null;
}

/** The Cookie header without cookie `name`. */
export function withoutCookie(header: string, name: string): string {
  const parts = header.split(';');
  const kept: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i].trim();
    const eq = p.indexOf('=');
    if (p.length > 0 && (eq < 0 || p.substring(0, eq) != name)) kept.push(p);
  }
  return kept.join('; ');
}
