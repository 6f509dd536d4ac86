// The built-in rate-limit filter: token buckets per descriptor, shared by the Envoy's workers through
// shared data with CAS. Configuration: ../config.schema.json; reference: docs/filters/builtins.md.
export * from '../../../sdk/assembly/abi';

import * as abi from '../../../sdk/assembly/imports';
import {
  Counter,
  FilterHeadersStatus,
  GrpcStatus,
  HeaderPair,
  HttpContext,
  logError,
  MapType,
  nowMilliseconds,
  pluginConfiguration,
  RootContext,
  registerRootContext,
  sendLocalResponse,
  WasmResult,
} from '../../../sdk/assembly/index';
import { RETURN_DATA, RETURN_EXTRA, RETURN_SIZE, resetReturn } from '../../../sdk/assembly/memory';
import { Take } from './bucket';
import {
  D_CLIENT_IP,
  D_HEADER,
  D_METHOD,
  D_PATH,
  D_ROUTE,
  DescriptorSource,
  parseRateLimitConfig,
  RateLimitConfig,
  Rule,
} from './config';
import { clientFromXff, hostOf, pathOnly, Span, XFF_SPAN, XFF_TEXT, xffClientText } from './request-keys';
import { DescriptorHash, SharedStore, SLOT_BYTES, SlotKey, StoredSlot, takeToken, writeDecimal } from './slots';

// Every request reads its key parts, one or two slots and writes one back, so this filter talks to
// the host through the raw ABI: names encoded once, values read in place from the host's buffer,
// nothing allocated per request (the SDK's string wrappers would allocate a few dozen objects).

class HostStore extends SharedStore {
  get(key: SlotKey, out: StoredSlot): bool {
    resetReturn();
    store<u32>(RETURN_EXTRA, 0);
    const r = abi.proxy_get_shared_data(key.ptr, <usize>key.len, RETURN_DATA, RETURN_SIZE, RETURN_EXTRA);
    if (r != WasmResult.Ok) {
      out.missing();
      return false;
    }
    const ptr = load<usize>(RETURN_DATA);
    out.read(ptr, load<usize>(RETURN_SIZE), load<u32>(RETURN_EXTRA));
    if (ptr != 0) heap.free(ptr);
    return true;
  }
  set(key: SlotKey, value: usize, cas: u32): bool {
    return abi.proxy_set_shared_data(key.ptr, <usize>key.len, value, SLOT_BYTES, cas) != WasmResult.CasMismatch;
  }
}

const shared = new HostStore();
const hash = new DescriptorHash();
const SOURCE_ADDRESS = String.UTF8.encode('source\0address', false);
const ROUTE_NAME = String.UTF8.encode('xds\0route_name', false);
const X_FORWARDED_FOR = String.UTF8.encode('x-forwarded-for', false);
const RATELIMIT_LIMIT = String.UTF8.encode('ratelimit-limit', false);
const RATELIMIT_REMAINING = String.UTF8.encode('ratelimit-remaining', false);
const RATELIMIT_RESET = String.UTF8.encode('ratelimit-reset', false);

/** The value the host returned last, in the host's allocation (freed by release). */
const value = new Span();
let valueAlloc: usize = 0;

function release(): void {
  if (valueAlloc != 0) heap.free(valueAlloc);
  valueAlloc = 0;
}

function returned(r: u32): Span | null {
  if (r != WasmResult.Ok) return null;
  valueAlloc = load<usize>(RETURN_DATA);
  return value.set(valueAlloc, load<usize>(RETURN_SIZE));
}

function requestHeader(name: ArrayBuffer): Span | null {
  release();
  resetReturn();
  const n = changetype<usize>(name);
  return returned(abi.proxy_get_header_map_value(MapType.RequestHeaders, n, name.byteLength, RETURN_DATA, RETURN_SIZE));
}

function property(path: ArrayBuffer): Span | null {
  release();
  resetReturn();
  return returned(abi.proxy_get_property(changetype<usize>(path), path.byteLength, RETURN_DATA, RETURN_SIZE));
}

function replaceResponseHeader(name: ArrayBuffer, ptr: usize, len: usize): void {
  abi.proxy_replace_header_map_value(MapType.ResponseHeaders, changetype<usize>(name), name.byteLength, ptr, len);
}

class RateLimitRoot extends RootContext {
  config: RateLimitConfig | null = null;
  limited: Counter | null = null;

  onConfigure(configurationSize: u32): bool {
    const r = parseRateLimitConfig(pluginConfiguration.getText());
    if (r.config == null) {
      logError('legate ratelimit: invalid configuration: ' + r.error);
      return false;
    }
    this.config = r.config;
    if (this.limited == null) this.limited = new Counter('legate_ratelimit_limited_total');
    return true;
  }

  newHttpContext(contextId: u32): HttpContext {
    return new RateLimitRequest(contextId, this);
  }
}

/** One part of a several-part descriptor is length-prefixed (see DescriptorHash.lengthPrefixed). */
function feed(s: Span, prefixed: bool): void {
  if (prefixed) hash.lengthPrefixed(s.ptr, s.len);
  else hash.bytes(s.ptr, s.len);
}

function feedClientIp(c: RateLimitConfig, prefixed: bool): bool {
  if (c.xffTrustedHops > 0) {
    const xff = requestHeader(X_FORWARDED_FOR);
    if (xff != null) {
      const found = clientFromXff(xff, c.xffTrustedHops);
      if (found == XFF_SPAN) {
        feed(xff, prefixed);
        return true;
      }
      if (found == XFF_TEXT) {
        const text = xffClientText(xff);
        if (text != null) {
          const bytes = String.UTF8.encode(text, false);
          feed(new Span().set(changetype<usize>(bytes), <usize>bytes.byteLength), prefixed);
          return true;
        }
      }
    }
  }
  const peer = property(SOURCE_ADDRESS);
  if (peer == null) return false;
  feed(hostOf(peer), prefixed);
  return true;
}

/** Feeds one part of a descriptor to `hash`; false when the request lacks it. */
function feedPart(c: RateLimitConfig, d: DescriptorSource, prefixed: bool): bool {
  if (d.kind == D_CLIENT_IP) return feedClientIp(c, prefixed);
  let s: Span | null = null;
  if (d.kind == D_HEADER || d.kind == D_METHOD) s = requestHeader(d.headerBytes);
  else if (d.kind == D_PATH) {
    s = requestHeader(d.headerBytes);
    if (s != null) pathOnly(s);
  } else if (d.kind == D_ROUTE) s = property(ROUTE_NAME);
  if (s == null) return false;
  feed(s, prefixed);
  return true;
}

/** Hashes the rule's bucket key for this request; false when a part is missing (the rule does not apply). */
function hashDescriptor(c: RateLimitConfig, rule: Rule): bool {
  hash.reset();
  const n = rule.descriptors.length;
  let ok = true;
  for (let i = 0; i < n && ok; i++) ok = feedPart(c, unchecked(rule.descriptors[i]), n > 1);
  release();
  return ok;
}

/** RateLimit-Remaining: this pod's whole tokens scaled by the replicas, capped by the configured burst. */
function remainingFor(c: RateLimitConfig, rule: Rule, t: Take): i64 {
  return max<i64>(0, min<i64>(rule.burst, t.remaining * c.replicas));
}

/** RateLimit-Reset: seconds until the bucket is full again. */
function resetSeconds(t: Take): i64 {
  return (t.resetMs + 999) / 1000;
}

/**
 * RateLimit-* headers (draft-ietf-httpapi-ratelimit-headers) are in Gateway-wide terms: the limit is
 * the configured one; remaining is this pod's whole tokens scaled by the replicas (the estimate the
 * per-pod split itself rests on); reset is when the bucket is full again, in seconds.
 */
class RateLimitRequest extends HttpContext {
  /** The most restrictive rule that applied, when its headers go on the response (else null). */
  headerRule: Rule | null = null;
  remaining: i64 = 0;
  reset: i64 = 0;

  constructor(id: u32, root: RootContext) {
    super(id, root);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const root = changetype<RateLimitRoot>(this.root);
    const c = root.config;
    if (c == null) return FilterHeadersStatus.Continue;
    const now = <i64>nowMilliseconds();
    let worst: Take | null = null;
    let worstRule: Rule | null = null;
    for (let i = 0; i < c.rules.length; i++) {
      const rule = unchecked(c.rules[i]);
      if (!hashDescriptor(c, rule)) continue;
      const t = takeToken(shared, rule.slots, hash, rule.limit, now, rule.take);
      if (
        worst == null ||
        (!t.allowed && worst.allowed) ||
        (t.allowed == worst.allowed && t.remaining < worst.remaining)
      ) {
        worst = t;
        worstRule = rule;
      }
    }
    if (worst == null) return FilterHeadersStatus.Continue;
    const rule = worstRule!;
    const remaining = remainingFor(c, rule, worst);
    const reset = resetSeconds(worst);
    if (worst.allowed) {
      if (c.responseHeaders) {
        this.headerRule = rule;
        this.remaining = remaining;
        this.reset = reset;
      }
      return FilterHeadersStatus.Continue;
    }
    const retry = max<i64>(1, (worst.retryAfterMs + 999) / 1000);
    const headers = [
      new HeaderPair('ratelimit-limit', rule.requests.toString()),
      new HeaderPair('ratelimit-remaining', remaining.toString()),
      new HeaderPair('ratelimit-reset', reset.toString()),
      new HeaderPair('retry-after', retry.toString()),
      new HeaderPair('content-type', 'application/json'),
    ];
    root.limited!.increment();
    const body =
      '{"error":"rate_limited","message":"too many requests","rule":"' +
      rule.name +
      '","retryAfterSeconds":' +
      retry.toString() +
      '}';
    sendLocalResponse(429, body, headers, GrpcStatus.None, 'legate_rate_limited');
    return FilterHeadersStatus.StopIteration;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const rule = this.headerRule;
    if (rule == null) return FilterHeadersStatus.Continue;
    const limit = rule.requestsText;
    replaceResponseHeader(RATELIMIT_LIMIT, changetype<usize>(limit), limit.byteLength);
    const digits = memory.data(24);
    replaceResponseHeader(RATELIMIT_REMAINING, digits, writeDecimal(digits, <u64>this.remaining));
    replaceResponseHeader(RATELIMIT_RESET, digits, writeDecimal(digits, <u64>this.reset));
    return FilterHeadersStatus.Continue;
  }
}

registerRootContext((id: u32): RootContext => new RateLimitRoot(id));
