// stdlib: a test filter over the SDK's standard library (random, hashing, encodings, cookies, URLs,
// header checks), so the host tests and real Envoy run the same code with test vectors. A request
// names the function in "x-fn" and its arguments in "x-arg"/"x-arg2" (binary arguments as hex); the
// answer is a local 200 whose body is the result. "x-fn: ab" is an A/B bucketer as a team would
// write one (stable bucket from a cookie, issuing the cookie when absent), passed upstream.
export * from '../../../assembly/abi';

import {
  FilterHeadersStatus,
  fnv1a32Text,
  fnv1a64Text,
  getCookie,
  HeaderPair,
  HttpContext,
  hasCrLf,
  hexDecode,
  hexEncode,
  hmacSha256,
  hmacSha256Verify,
  httpDate,
  isValidHeaderName,
  isValidHeaderValue,
  JsonObject,
  LogLine,
  parseHttpDate,
  parseJson,
  parseUrl,
  percentDecode,
  percentEncode,
  RootContext,
  randomBelow,
  randomHex,
  randomId,
  registerRootContext,
  requestCookie,
  requestCookies,
  requestHeaders,
  responseHeaders,
  SetCookie,
  sendLocalResponse,
  sha1,
  sha256,
  sha256Text,
  sha512,
  splitPath,
  uuid4,
} from '../../../assembly/index';

function header(name: string): string {
  const v = requestHeaders.get(name);
  return v != null ? v : '';
}

function bytesArg(name: string): Uint8Array {
  const b = hexDecode(header(name));
  return b != null ? b : new Uint8Array(0);
}

class StdlibRoot extends RootContext {
  newHttpContext(id: u32): HttpContext {
    return new StdlibStream(id, this);
  }
}

/** A Set-Cookie from x-arg (name), x-arg2 (value) and x-attrs ("path=/;maxAge=60;httpOnly;…"). */
function buildSetCookie(): string {
  const c = new SetCookie(header('x-arg'), header('x-arg2'));
  const attrs = header('x-attrs').split(';');
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs[i];
    const eq = a.indexOf('=');
    const k = eq >= 0 ? a.substring(0, eq) : a;
    const v = eq >= 0 ? a.substring(eq + 1) : '';
    if (k == 'path') c.path(v);
    else if (k == 'domain') c.domain(v);
    else if (k == 'maxAge') c.maxAge(I64.parseInt(v));
    else if (k == 'expires') c.expires(I64.parseInt(v));
    else if (k == 'secure') c.secure();
    else if (k == 'httpOnly') c.httpOnly();
    else if (k == 'partitioned') c.partitioned();
    else if (k == 'sameSite') c.sameSite(v);
  }
  const err = c.error();
  return err != null ? 'error: ' + err : c.toString();
}

class StdlibStream extends HttpContext {
  /** The A/B bucketer's id when it issued one for this request (sent back as a cookie). */
  issued: string = '';

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const fn = header('x-fn');
    if (fn == '') return FilterHeadersStatus.Continue;
    if (fn == 'ab') {
      let uid = requestCookie('uid');
      if (uid == null) {
        uid = randomId();
        this.issued = uid;
      }
      requestHeaders.replace('x-bucket', (fnv1a32Text(uid) % 100).toString());
      requestHeaders.replace('x-uid-sha256', hexEncode(sha256Text(uid)));
      return FilterHeadersStatus.Continue;
    }
    const result = this.call(fn);
    if (result == null) sendLocalResponse(404, 'unknown x-fn ' + fn);
    else sendLocalResponse(200, result, [new HeaderPair('content-type', 'text/plain')]);
    return FilterHeadersStatus.StopIteration;
  }

  call(fn: string): string | null {
    if (fn == 'random') {
      return randomHex(8) + ' ' + randomId() + ' ' + uuid4() + ' ' + randomBelow(10).toString();
    }
    if (fn == 'sha256') return hexEncode(sha256(bytesArg('x-arg')));
    if (fn == 'sha256-text') return hexEncode(sha256Text(header('x-arg')));
    if (fn == 'sha512') return hexEncode(sha512(bytesArg('x-arg')));
    if (fn == 'sha1') return hexEncode(sha1(bytesArg('x-arg')));
    if (fn == 'hmac') return hexEncode(hmacSha256(bytesArg('x-arg'), bytesArg('x-arg2')));
    if (fn == 'hmac-verify') {
      const key = bytesArg('x-arg');
      const msg = bytesArg('x-arg2');
      return hmacSha256Verify(key, msg, bytesArg('x-arg3')) ? 'valid' : 'invalid';
    }
    if (fn == 'fnv') return fnv1a32Text(header('x-arg')).toString() + ' ' + fnv1a64Text(header('x-arg')).toString();
    if (fn == 'hex') {
      const b = hexDecode(header('x-arg'));
      return b != null ? hexEncode(b) + ' ' + b.length.toString() : 'null';
    }
    if (fn == 'cookies') {
      const all = requestCookies();
      let out = '';
      for (let i = 0; i < all.length; i++) out += all[i].name + '=' + all[i].value + '\n';
      const one = requestCookie(header('x-arg'));
      const inArg = getCookie(header('x-arg2'), header('x-arg'));
      return out + 'get=' + (one != null ? one : 'null') + ' in-arg=' + (inArg != null ? inArg : 'null');
    }
    if (fn == 'set-cookie') return buildSetCookie();
    if (fn == 'http-date') return httpDate(I64.parseInt(header('x-arg')));
    if (fn == 'query') {
      const target = splitPath(header('x-arg'));
      const q = target.params();
      let out = 'path=' + target.path + '\n';
      for (let i = 0; i < q.params.length; i++) out += q.params[i].name + '=' + q.params[i].value + '\n';
      const v = q.get(header('x-arg2'));
      out += 'get=' + (v != null ? v : 'null') + '\n';
      out += 'all=' + q.getAll(header('x-arg2')).join(',') + '\n';
      out += 'rebuilt=' + q.set('added', 'a b&c').remove('drop').toString();
      return out;
    }
    if (fn == 'url') {
      const u = parseUrl(header('x-arg'));
      if (u == null) return 'null';
      return (
        u.scheme +
        '|' +
        u.userinfo +
        '|' +
        u.host +
        '|' +
        u.port.toString() +
        '|' +
        u.path +
        '|' +
        u.query +
        '|' +
        u.fragment +
        '|' +
        u.authority() +
        '|' +
        u.toString()
      );
    }
    if (fn == 'json') {
      // Typed access without `!`: x-arg is the document, x-arg2 a JSON Pointer.
      const root = parseJson(header('x-arg')).root();
      const v = root.pointer(header('x-arg2'));
      return (
        'text=' +
        v.text('-') +
        ' number=' +
        v.number(-1).toString() +
        ' integer=' +
        v.integer(-1).toString() +
        ' boolean=' +
        (v.boolean() ? 'true' : 'false') +
        ' size=' +
        v.size().toString() +
        ' missing=' +
        (v.isMissing() ? 'true' : 'false') +
        ' exists=' +
        (v.exists() ? 'true' : 'false') +
        ' texts=' +
        v.texts().join(',') +
        ' tenant=' +
        root.field('claims').field('tenant').text('none') +
        ' first=' +
        root.field('groups').item(0).text('none') +
        ' keys=' +
        root.memberNames().join(',')
      );
    }
    if (fn == 'json-build') {
      // The body a tenant router answers a bad request with.
      return new JsonObject()
        .setString('error', header('x-arg'))
        .setNumber('status', 400)
        .setNumber('ratio', 0.5)
        .setBool('ok', false)
        .setNull('none')
        .setStrings('tags', ['a', 'b"c'])
        .stringify();
    }
    if (fn == 'http-date-parse') return parseHttpDate(header('x-arg')).toString();
    if (fn == 'log') {
      const line = new LogLine('stdlib: routed')
        .str('tenant', header('x-arg'))
        .int('status', 400)
        .num('ratio', 0.25)
        .bool('cached', false)
        .str('empty', '');
      line.info();
      line.debug();
      return line.toString();
    }
    if (fn == 'pct-encode') return percentEncode(header('x-arg'));
    if (fn == 'pct-decode') {
      const d = percentDecode(header('x-arg'), header('x-arg2') == 'plus');
      return d != null ? d : 'null';
    }
    if (fn == 'header-check') {
      const v = header('x-arg2');
      const name: string = isValidHeaderName(header('x-arg')) ? 'name-ok' : 'name-bad';
      const value: string = isValidHeaderValue(v) ? 'value-ok' : 'value-bad';
      const crlf: string = hasCrLf(v) ? 'crlf' : 'no-crlf';
      return name + ' ' + value + ' ' + crlf;
    }
    return null;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    if (this.issued != '') {
      const c = new SetCookie('uid', this.issued)
        .path('/')
        .maxAge(30 * 86400)
        .httpOnly()
        .sameSite('Lax');
      responseHeaders.add('set-cookie', c.toString());
    }
    return FilterHeadersStatus.Continue;
  }
}

registerRootContext((id: u32): RootContext => new StdlibRoot(id));
