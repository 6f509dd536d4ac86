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
  HeaderPair,
  HttpContext,
  hexDecode,
  hexEncode,
  hmacSha256,
  hmacSha256Verify,
  RootContext,
  randomBelow,
  randomHex,
  randomId,
  registerRootContext,
  requestHeaders,
  sendLocalResponse,
  sha1,
  sha256,
  sha256Text,
  sha512,
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

class StdlibStream extends HttpContext {
  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const fn = header('x-fn');
    if (fn == '') return FilterHeadersStatus.Continue;
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
    return null;
  }
}

registerRootContext((id: u32): RootContext => new StdlibRoot(id));
