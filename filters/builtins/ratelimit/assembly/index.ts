// The built-in rate-limit filter: token buckets per descriptor, shared by the Envoy's workers through
// shared data with CAS. Configuration: ../config.schema.json; reference: docs/filters/builtins.md.
export * from '../../../sdk/assembly/abi';

import {
  Counter,
  FilterHeadersStatus,
  GrpcStatus,
  getPropertyString,
  getSharedData,
  HeaderPair,
  HttpContext,
  logError,
  nowMilliseconds,
  pluginConfiguration,
  RootContext,
  registerRootContext,
  requestHeaders,
  responseHeaders,
  sendLocalResponse,
  setSharedData,
  WasmResult,
} from '../../../sdk/assembly/index';
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
import { clientFromXff, hostOf, pathOnly } from './request-keys';
import { SharedStore, StoredValue, takeToken } from './slots';

class HostStore extends SharedStore {
  get(key: string): StoredValue | null {
    const v = getSharedData(key);
    return v != null ? new StoredValue(v.value, v.cas) : null;
  }
  set(key: string, value: ArrayBuffer, cas: u32): bool {
    return setSharedData(key, value, cas) != WasmResult.CasMismatch;
  }
}

const store = new HostStore();

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

function clientIp(c: RateLimitConfig): string | null {
  if (c.xffTrustedHops > 0) {
    const xff = requestHeaders.get('x-forwarded-for');
    if (xff != null) {
      const ip = clientFromXff(xff, c.xffTrustedHops);
      if (ip != null) return ip;
    }
  }
  const peer = getPropertyString(['source', 'address']);
  return peer != null ? hostOf(peer) : null;
}

function part(c: RateLimitConfig, d: DescriptorSource): string | null {
  if (d.kind == D_CLIENT_IP) return clientIp(c);
  if (d.kind == D_HEADER) return requestHeaders.get(d.header);
  if (d.kind == D_METHOD) return requestHeaders.get(':method');
  if (d.kind == D_PATH) {
    const p = requestHeaders.get(':path');
    return p != null ? pathOnly(p) : null;
  }
  if (d.kind == D_ROUTE) return getPropertyString(['xds', 'route_name']);
  return null;
}

/** The rule's bucket key for this request; null when a part is missing (the rule does not apply). */
function descriptorOf(c: RateLimitConfig, rule: Rule): string | null {
  if (rule.descriptors.length == 1) return part(c, rule.descriptors[0]);
  let key = '';
  for (let i = 0; i < rule.descriptors.length; i++) {
    const v = part(c, rule.descriptors[i]);
    if (v == null) return null;
    // Length-prefixed parts: no value can forge another combination by containing a separator.
    key += v.length.toString() + ':' + v;
  }
  return key;
}

class RateLimitRequest extends HttpContext {
  /** Headers for the response, from the most restrictive rule (empty when none applied). */
  limitHeaders: HeaderPair[] = [];

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
      const rule = c.rules[i];
      const d = descriptorOf(c, rule);
      if (d == null) continue;
      const t = takeToken(store, rule.keyPrefix, c.maxKeys, d, rule.limit, now);
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
    const headers = this.headersFor(c, worstRule!, worst);
    if (worst.allowed) {
      if (c.responseHeaders) this.limitHeaders = headers;
      return FilterHeadersStatus.Continue;
    }
    const retry = max<i64>(1, (worst.retryAfterMs + 999) / 1000);
    headers.push(new HeaderPair('retry-after', retry.toString()));
    headers.push(new HeaderPair('content-type', 'application/json'));
    root.limited!.increment();
    const body =
      '{"error":"rate_limited","message":"too many requests","rule":"' +
      worstRule!.name +
      '","retryAfterSeconds":' +
      retry.toString() +
      '}';
    sendLocalResponse(429, body, headers, GrpcStatus.None, 'legate_rate_limited');
    return FilterHeadersStatus.StopIteration;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    for (let i = 0; i < this.limitHeaders.length; i++) {
      responseHeaders.replace(this.limitHeaders[i].key, this.limitHeaders[i].value);
    }
    return FilterHeadersStatus.Continue;
  }

  /**
   * RateLimit-* headers (draft-ietf-httpapi-ratelimit-headers), in Gateway-wide terms: the limit is
   * the configured one; remaining is this pod's whole tokens scaled by the replicas (the estimate the
   * per-pod split itself rests on); reset is when the bucket is full again, in seconds.
   */
  private headersFor(c: RateLimitConfig, rule: Rule, t: Take): HeaderPair[] {
    const remaining = min<i64>(rule.burst, t.remaining * c.replicas);
    return [
      new HeaderPair('ratelimit-limit', rule.requests.toString()),
      new HeaderPair('ratelimit-remaining', max<i64>(0, remaining).toString()),
      new HeaderPair('ratelimit-reset', ((t.resetMs + 999) / 1000).toString()),
    ];
  }
}

registerRootContext((id: u32): RootContext => new RateLimitRoot(id));
