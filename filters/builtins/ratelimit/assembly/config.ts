// The rate-limit filter's configuration (see ../config.schema.json and docs/filters/builtins.md).
import { ConfigReader } from '../../../sdk/assembly/config';
import { asciiLower } from '../../shared/assembly/ascii';
import { Limit, Take } from './bucket';
import { RuleSlots } from './slots';

export const D_CLIENT_IP: i32 = 0;
export const D_PATH: i32 = 1;
export const D_ROUTE: i32 = 2;
export const D_METHOD: i32 = 3;
export const D_HEADER: i32 = 4;

/** One part of a bucket key, taken from the request. */
export class DescriptorSource {
  /** The header name as UTF-8, encoded once (D_HEADER, D_METHOD, D_PATH). */
  readonly headerBytes: ArrayBuffer;

  constructor(
    public kind: i32,
    /** Header name (lower case) for D_HEADER. */
    public header: string = '',
  ) {
    const name = kind == D_METHOD ? ':method' : kind == D_PATH ? ':path' : header;
    this.headerBytes = String.UTF8.encode(name, false);
  }
}

export class Rule {
  name: string = '';
  descriptors: DescriptorSource[] = [];
  /** The Gateway-wide limit as configured: requests per period. */
  requests: i64 = 0;
  periodMs: i64 = 1000;
  burst: i64 = 0;
  /** This pod's share (requests / replicas, burst / replicas): what the buckets enforce. */
  limit: Limit = new Limit(1, 1, 1000);
  /** Key prefix of the rule's slots in shared data. */
  keyPrefix: string = '';
  /** The rule's slot keys and buffers, and where its per-request outcome goes (reused). */
  slots: RuleSlots = new RuleSlots('', 1);
  take: Take = new Take();
  /** `requests` in decimal UTF-8: the RateLimit-Limit value. */
  requestsText: ArrayBuffer = new ArrayBuffer(0);
}

export class RateLimitConfig {
  rules: Rule[] = [];
  /** Ready replicas of the Gateway's Envoy Deployment, set by the operator: each pod enforces 1/replicas. */
  replicas: i64 = 1;
  /** X-Forwarded-For entries (from the right) that trusted proxies appended; 0 = the connection's peer. */
  xffTrustedHops: i32 = 0;
  /** Slots per rule: the most descriptors tracked at once before idle ones are reused. */
  maxKeys: u32 = 10000;
  responseHeaders: bool = true;
}

export class RateLimitConfigResult {
  constructor(
    public config: RateLimitConfig | null,
    public error: string,
  ) {}
}

function periodMs(unit: string): i64 {
  if (unit == 'second') return 1000;
  if (unit == 'minute') return 60_000;
  return 3_600_000;
}

function descriptor(r: ConfigReader, spec: string): DescriptorSource | null {
  if (spec == 'client_ip') return new DescriptorSource(D_CLIENT_IP);
  if (spec == 'path') return new DescriptorSource(D_PATH);
  if (spec == 'route') return new DescriptorSource(D_ROUTE);
  if (spec == 'method') return new DescriptorSource(D_METHOD);
  if (spec.startsWith('header:') && spec.length > 7)
    return new DescriptorSource(D_HEADER, asciiLower(spec.substring(7)));
  r.fail('descriptors', 'unknown descriptor "' + spec + '" (client_ip, path, route, method or header:<name>)');
  return null;
}

/** Rule names and domains become shared-data keys ("legate.rl/<domain>/<rule>/<slot>"): no "/". */
function isName(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 46 || c == 95 || c == 45;
    if (!ok) return false;
  }
  return true;
}

export function parseRateLimitConfig(text: string): RateLimitConfigResult {
  const r = ConfigReader.fromText(text);
  r.allowOnly(['domain', 'rules', 'replicas', 'xffTrustedHops', 'maxKeys', 'responseHeaders']);
  const c = new RateLimitConfig();
  const domain = r.string('domain', 'default');
  if (!isName(domain)) r.fail('domain', 'use letters, digits, ".", "_" and "-" only');
  c.replicas = r.int('replicas', 1, 1, 10000);
  c.xffTrustedHops = <i32>r.int('xffTrustedHops', 0, 0, 16);
  c.maxKeys = <u32>r.int('maxKeys', 10000, 1, 1000000);
  c.responseHeaders = r.bool('responseHeaders', true);
  const rules = r.objectArray('rules', true);
  if (r.ok && rules.length == 0) r.fail('rules', 'must list at least one rule');
  const names: string[] = [];
  for (let i = 0; i < rules.length; i++) {
    const rr = rules[i];
    rr.allowOnly(['name', 'descriptors', 'requests', 'unit', 'burst']);
    const rule = new Rule();
    rule.name = rr.requiredString('name');
    if (!isName(rule.name)) rr.fail('name', 'use letters, digits, ".", "_" and "-" only');
    else if (names.includes(rule.name)) rr.fail('name', 'duplicate rule name "' + rule.name + '"');
    names.push(rule.name);
    const specs = rr.stringArray('descriptors');
    for (let j = 0; j < specs.length; j++) {
      const d = descriptor(rr, specs[j]);
      if (d != null) rule.descriptors.push(d);
    }
    rule.requests = rr.requiredInt('requests', 1, 1_000_000_000);
    rule.periodMs = periodMs(rr.oneOf('unit', ['second', 'minute', 'hour'], 'second'));
    rule.burst = rr.int('burst', rule.requests, 1, 1_000_000_000);
    // This pod's share. Burst is rounded up so that every pod can serve at least one request.
    const share = <f64>c.replicas;
    rule.limit = new Limit(Math.ceil(<f64>rule.burst / share), <f64>rule.requests / share, <f64>rule.periodMs);
    rule.keyPrefix = 'legate.rl/' + domain + '/' + rule.name + '/';
    rule.slots = new RuleSlots(rule.keyPrefix, c.maxKeys);
    rule.requestsText = String.UTF8.encode(rule.requests.toString(), false);
    c.rules.push(rule);
  }
  if (!r.ok) return new RateLimitConfigResult(null, r.errorText());
  return new RateLimitConfigResult(c, '');
}
