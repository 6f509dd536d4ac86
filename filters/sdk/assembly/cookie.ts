// Cookies (RFC 6265): reading the request's Cookie header(s) and building Set-Cookie values.

import { isToken } from './http';
import { requestHeaders } from './instances';
import { httpDate } from './time';

export class Cookie {
  constructor(
    public name: string,
    public value: string,
  ) {}
}

function isSpace(c: i32): bool {
  return c == 32 || c == 9;
}

/**
 * The cookies in one Cookie header value ("a=1; b=2"), in order. Whitespace around names and values
 * is dropped, a value in double quotes loses them, pairs without "=" are skipped. Values are not
 * decoded: a value a filter set encoded (base64url, percent) reads back the same way.
 */
export function parseCookieHeader(header: string): Cookie[] {
  const out: Cookie[] = [];
  const n = header.length;
  let i = 0;
  while (i < n) {
    let end = header.indexOf(';', i);
    if (end < 0) end = n;
    const eq = header.indexOf('=', i);
    if (eq > i && eq < end) {
      let ns = i;
      let ne = eq;
      while (ns < ne && isSpace(header.charCodeAt(ns))) ns++;
      while (ne > ns && isSpace(header.charCodeAt(ne - 1))) ne--;
      let vs = eq + 1;
      let ve = end;
      while (vs < ve && isSpace(header.charCodeAt(vs))) vs++;
      while (ve > vs && isSpace(header.charCodeAt(ve - 1))) ve--;
      if (ve - vs >= 2 && header.charCodeAt(vs) == 34 && header.charCodeAt(ve - 1) == 34) {
        vs++;
        ve--;
      }
      if (ne > ns) out.push(new Cookie(header.substring(ns, ne), header.substring(vs, ve)));
    }
    i = end + 1;
  }
  return out;
}

/** The value of cookie `name` in one Cookie header value (the first, if repeated), or null. */
export function getCookie(header: string, name: string): string | null {
  const all = parseCookieHeader(header);
  for (let i = 0; i < all.length; i++) if (all[i].name == name) return all[i].value;
  return null;
}

/**
 * Every cookie of the current request, from every `cookie` header: an HTTP/2 or HTTP/3 client may send
 * one header per cookie (RFC 9113 §8.2.3), an HTTP/1.1 client one header for all.
 */
export function requestCookies(): Cookie[] {
  const pairs = requestHeaders.pairs();
  let out: Cookie[] = [];
  for (let i = 0; i < pairs.length; i++) {
    if (pairs[i].key == 'cookie') out = out.concat(parseCookieHeader(pairs[i].value));
  }
  return out;
}

/** The value of cookie `name` in the current request, or null. */
export function requestCookie(name: string): string | null {
  const all = requestCookies();
  for (let i = 0; i < all.length; i++) if (all[i].name == name) return all[i].value;
  return null;
}

/** RFC 6265 cookie-octet: visible ASCII except DQUOTE, comma, semicolon and backslash. */
function isCookieOctet(c: i32): bool {
  return c >= 0x21 && c <= 0x7e && c != 0x22 && c != 0x2c && c != 0x3b && c != 0x5c;
}

/** An attribute value (Path, Domain): visible ASCII and space, no semicolon. */
function isAttributeValue(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c == 0x3b) return false;
  }
  return true;
}

/**
 * A Set-Cookie header value, built with chained setters:
 *
 *   const c = new SetCookie('uid', id).path('/').maxAge(86400).httpOnly().secure().sameSite('Lax');
 *   if (c.error() == null) responseHeaders.add('set-cookie', c.toString());
 *
 * `error()` names what makes the cookie invalid (a name that is not a token, a value with characters
 * a cookie cannot carry: encode it first, e.g. base64url), so a bad value never reaches a header.
 */
export class SetCookie {
  private _path: string = '';
  private _domain: string = '';
  private _maxAge: i64 = 0;
  private _hasMaxAge: bool = false;
  private _expiresMs: i64 = 0;
  private _hasExpires: bool = false;
  private _secure: bool = false;
  private _httpOnly: bool = false;
  private _partitioned: bool = false;
  private _sameSite: string = '';

  constructor(
    public name: string,
    public value: string,
  ) {}

  path(p: string): SetCookie {
    this._path = p;
    return this;
  }
  domain(d: string): SetCookie {
    this._domain = d;
    return this;
  }
  /** Seconds until the cookie expires; 0 or less deletes it now. */
  maxAge(seconds: i64): SetCookie {
    this._maxAge = seconds;
    this._hasMaxAge = true;
    return this;
  }
  /** An absolute expiry (Unix milliseconds), written as an IMF-fixdate. */
  expires(unixMs: i64): SetCookie {
    this._expiresMs = unixMs;
    this._hasExpires = true;
    return this;
  }
  secure(on: bool = true): SetCookie {
    this._secure = on;
    return this;
  }
  httpOnly(on: bool = true): SetCookie {
    this._httpOnly = on;
    return this;
  }
  partitioned(on: bool = true): SetCookie {
    this._partitioned = on;
    return this;
  }
  /** "Strict", "Lax" or "None" (None needs secure()). */
  sameSite(mode: string): SetCookie {
    this._sameSite = mode;
    return this;
  }

  /** Why this cookie cannot be sent, or null when it can. */
  error(): string | null {
    if (!isToken(this.name)) return 'cookie name is not a token: ' + this.name;
    let v = this.value;
    if (v.length >= 2 && v.charCodeAt(0) == 34 && v.charCodeAt(v.length - 1) == 34) v = v.substring(1, v.length - 1);
    for (let i = 0; i < v.length; i++) {
      if (!isCookieOctet(v.charCodeAt(i))) return 'cookie value has a character a cookie cannot carry (encode it)';
    }
    if (!isAttributeValue(this._path)) return 'cookie path has a control character or ";"';
    if (!isAttributeValue(this._domain)) return 'cookie domain has a control character or ";"';
    const s = this._sameSite;
    if (s != '' && s != 'Strict' && s != 'Lax' && s != 'None') return 'SameSite must be Strict, Lax or None';
    if (s == 'None' && !this._secure) return 'SameSite=None needs Secure';
    if (this._partitioned && !this._secure) return 'Partitioned needs Secure';
    return null;
  }

  /** The header value ("" when error() is not null). */
  toString(): string {
    if (this.error() != null) return '';
    let out = this.name + '=' + this.value;
    if (this._path != '') out += '; Path=' + this._path;
    if (this._domain != '') out += '; Domain=' + this._domain;
    if (this._hasMaxAge) out += '; Max-Age=' + max<i64>(this._maxAge, 0).toString();
    if (this._hasExpires) out += '; Expires=' + httpDate(this._expiresMs);
    if (this._secure) out += '; Secure';
    if (this._httpOnly) out += '; HttpOnly';
    if (this._sameSite != '') out += '; SameSite=' + this._sameSite;
    if (this._partitioned) out += '; Partitioned';
    return out;
  }
}
