// Percent-encoding, query strings and URLs (RFC 3986; query strings as browsers send forms:
// application/x-www-form-urlencoded, "+" for space).

function hexValue(c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Decodes %XX escapes (and "+" as space when `plusAsSpace`) and reads the bytes as UTF-8. Null when an
 * escape is malformed or the bytes are not valid UTF-8.
 */
export function percentDecode(text: string, plusAsSpace: bool = false): string | null {
  let plain = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c == 37 || (plusAsSpace && c == 43) || c > 127) {
      plain = false;
      break;
    }
  }
  if (plain) return text;
  const src = String.UTF8.encode(text);
  const n = src.byteLength;
  const sp = changetype<usize>(src);
  const out = new ArrayBuffer(n);
  const op = changetype<usize>(out);
  let o: usize = 0;
  for (let i = 0; i < n; i++) {
    const c = <i32>load<u8>(sp + <usize>i);
    if (c == 37) {
      if (i + 2 >= n) return null;
      const hi = hexValue(load<u8>(sp + <usize>(i + 1)));
      const lo = hexValue(load<u8>(sp + <usize>(i + 2)));
      if (hi < 0 || lo < 0) return null;
      store<u8>(op + o++, <u8>((hi << 4) | lo));
      i += 2;
    } else if (plusAsSpace && c == 43) {
      store<u8>(op + o++, 32);
    } else {
      store<u8>(op + o++, <u8>c);
    }
  }
  return utf8Strict(op, o);
}

/** UTF-8 bytes to a string, or null when they are not valid UTF-8 (no replacement characters). */
function utf8Strict(p: usize, n: usize): string | null {
  let i: usize = 0;
  while (i < n) {
    const b = <u32>load<u8>(p + i);
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: usize = 0;
    let min: u32 = 0;
    let cp: u32 = 0;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
      cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
      cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
      cp = b & 0x07;
    } else return null;
    for (let k: usize = 1; k <= need; k++) {
      if (i + k >= n) return null;
      const cb = <u32>load<u8>(p + i + k);
      if ((cb & 0xc0) != 0x80) return null;
      cp = (cp << 6) | (cb & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return null;
    i += need + 1;
  }
  return String.UTF8.decodeUnsafe(p, n, false);
}

function isUnreserved(c: i32): bool {
  return (
    (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c == 45 || c == 46 || c == 95 || c == 126
  );
}

/** Percent-encodes the UTF-8 bytes of `text`, keeping only RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~). */
export function percentEncode(text: string): string {
  const hex = '0123456789ABCDEF';
  const bytes = String.UTF8.encode(text);
  const p = changetype<usize>(bytes);
  let out = '';
  for (let i = 0; i < bytes.byteLength; i++) {
    const c = <i32>load<u8>(p + <usize>i);
    if (isUnreserved(c)) out += String.fromCharCode(c);
    else out += '%' + hex.charAt(c >> 4) + hex.charAt(c & 15);
  }
  return out;
}

export class QueryParam {
  constructor(
    public name: string,
    public value: string,
  ) {}
}

/** A parsed query string: the parameters in order, repeats kept. */
export class Query {
  params: QueryParam[] = [];

  /** The first value of `name`, or null. A parameter without "=" has the value "". */
  get(name: string): string | null {
    for (let i = 0; i < this.params.length; i++) if (this.params[i].name == name) return this.params[i].value;
    return null;
  }

  getAll(name: string): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.params.length; i++) if (this.params[i].name == name) out.push(this.params[i].value);
    return out;
  }

  has(name: string): bool {
    return this.get(name) != null;
  }

  add(name: string, value: string): Query {
    this.params.push(new QueryParam(name, value));
    return this;
  }

  /** Replaces every `name` with one value (appended at the position of the first, or at the end). */
  set(name: string, value: string): Query {
    const kept: QueryParam[] = [];
    let placed = false;
    for (let i = 0; i < this.params.length; i++) {
      if (this.params[i].name != name) kept.push(this.params[i]);
      else if (!placed) {
        kept.push(new QueryParam(name, value));
        placed = true;
      }
    }
    if (!placed) kept.push(new QueryParam(name, value));
    this.params = kept;
    return this;
  }

  remove(name: string): Query {
    const kept: QueryParam[] = [];
    for (let i = 0; i < this.params.length; i++) if (this.params[i].name != name) kept.push(this.params[i]);
    this.params = kept;
    return this;
  }

  /** "a=1&b=x%20y": names and values percent-encoded (no leading "?"). */
  toString(): string {
    let out = '';
    for (let i = 0; i < this.params.length; i++) {
      if (i > 0) out += '&';
      out += percentEncode(this.params[i].name) + '=' + percentEncode(this.params[i].value);
    }
    return out;
  }
}

/**
 * Parses a query string (with or without a leading "?"): "&"-separated, "+" is a space, %XX escapes
 * decoded. A name or value that does not decode (bad escape, invalid UTF-8) is kept as sent; empty
 * segments ("a=1&&b=2") are skipped.
 */
export function parseQuery(query: string): Query {
  const q = new Query();
  let i = query.length > 0 && query.charCodeAt(0) == 63 ? 1 : 0;
  const n = query.length;
  while (i <= n) {
    let end = query.indexOf('&', i);
    if (end < 0) end = n;
    if (end > i) {
      const eq = query.indexOf('=', i);
      const rawName = eq >= 0 && eq < end ? query.substring(i, eq) : query.substring(i, end);
      const rawValue = eq >= 0 && eq < end ? query.substring(eq + 1, end) : '';
      const name = percentDecode(rawName, true);
      const value = percentDecode(rawValue, true);
      q.params.push(new QueryParam(name != null ? name : rawName, value != null ? value : rawValue));
    }
    i = end + 1;
  }
  return q;
}

/** A request target (":path") split at "?": the path as sent and the query string after "?". */
export class RequestPath {
  constructor(
    public path: string,
    public query: string,
  ) {}

  /** The parsed query string. */
  params(): Query {
    return parseQuery(this.query);
  }

  /** The path with escapes decoded, or null when they do not decode ("+" stays "+"). */
  decodedPath(): string | null {
    return percentDecode(this.path, false);
  }
}

/** Splits a request target such as the ":path" header ("/a/b?x=1#f": a fragment is dropped). */
export function splitPath(target: string): RequestPath {
  let end = target.indexOf('#');
  if (end < 0) end = target.length;
  const q = target.indexOf('?');
  if (q >= 0 && q < end) return new RequestPath(target.substring(0, q), target.substring(q + 1, end));
  return new RequestPath(target.substring(0, end), '');
}

/** An absolute URL's parts, as sent (not decoded). `port` is -1 when absent. */
export class Url {
  scheme: string = '';
  userinfo: string = '';
  host: string = '';
  port: i32 = -1;
  path: string = '';
  query: string = '';
  fragment: string = '';

  /** host, or host:port; IPv6 hosts in brackets. */
  authority(): string {
    const h = this.host.indexOf(':') >= 0 ? '[' + this.host + ']' : this.host;
    return this.port >= 0 ? h + ':' + this.port.toString() : h;
  }

  params(): Query {
    return parseQuery(this.query);
  }

  toString(): string {
    let out = this.scheme + '://';
    if (this.userinfo != '') out += this.userinfo + '@';
    out += this.authority() + this.path;
    if (this.query != '') out += '?' + this.query;
    if (this.fragment != '') out += '#' + this.fragment;
    return out;
  }
}

function isSchemeChar(c: i32, first: bool): bool {
  if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90)) return true;
  if (first) return false;
  return (c >= 48 && c <= 57) || c == 43 || c == 45 || c == 46;
}

/**
 * Parses an absolute URL with an authority ("https://user@host:8443/p?q=1#f"); the scheme and host are
 * lower-cased, an IPv6 host loses its brackets. Null when it is not one: no "scheme://", a port that is
 * not a number up to 65535, an empty host, or spaces or control characters anywhere.
 */
export function parseUrl(text: string): Url | null {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 32 || c == 127) return null;
  }
  const colon = text.indexOf('://');
  if (colon <= 0) return null;
  for (let i = 0; i < colon; i++) if (!isSchemeChar(text.charCodeAt(i), i == 0)) return null;
  const u = new Url();
  u.scheme = text.substring(0, colon).toLowerCase();
  let rest = text.substring(colon + 3);
  const sharp = rest.indexOf('#');
  if (sharp >= 0) {
    u.fragment = rest.substring(sharp + 1);
    rest = rest.substring(0, sharp);
  }
  const qm = rest.indexOf('?');
  if (qm >= 0) {
    u.query = rest.substring(qm + 1);
    rest = rest.substring(0, qm);
  }
  const slash = rest.indexOf('/');
  let authority = rest;
  if (slash >= 0) {
    u.path = rest.substring(slash);
    authority = rest.substring(0, slash);
  }
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    u.userinfo = authority.substring(0, at);
    authority = authority.substring(at + 1);
  }
  let hostPart = authority;
  let portText = '';
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) return null;
    hostPart = authority.substring(1, close);
    const after = authority.substring(close + 1);
    if (after != '') {
      if (!after.startsWith(':')) return null;
      portText = after.substring(1);
    }
  } else {
    const pc = authority.lastIndexOf(':');
    if (pc >= 0) {
      hostPart = authority.substring(0, pc);
      portText = authority.substring(pc + 1);
    }
  }
  if (hostPart == '') return null;
  u.host = hostPart.toLowerCase();
  if (portText != '') {
    if (portText.length > 5) return null;
    let port = 0;
    for (let i = 0; i < portText.length; i++) {
      const c = portText.charCodeAt(i);
      if (c < 48 || c > 57) return null;
      port = port * 10 + (c - 48);
    }
    if (port > 65535) return null;
    u.port = port;
  }
  return u;
}
