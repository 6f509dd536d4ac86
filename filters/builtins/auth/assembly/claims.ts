// Claim rules applied after a token verified: required values (→ 403) and claims forwarded as headers.
import { JsonObject, JsonValue } from '../../../sdk/assembly/json';

/** A claim forwarded to the upstream as a request header. */
export class ClaimHeader {
  constructor(
    public claim: string,
    public header: string,
  ) {}
}

/** The claim must hold one of `values` (a string claim, an element of an array claim, or a word of a
 * space-separated string such as OAuth's "scope"). */
export class RequiredClaim {
  constructor(
    public name: string,
    public values: string[],
  ) {}
}

function matchesString(s: string, values: string[]): bool {
  if (values.includes(s)) return true;
  if (s.indexOf(' ') < 0) return false;
  const words = s.split(' ');
  for (let i = 0; i < words.length; i++) if (values.includes(words[i])) return true;
  return false;
}

function matches(v: JsonValue, values: string[]): bool {
  if (v.isString()) return matchesString(v.asString().value, values);
  if (v.isArray()) {
    const items = v.asArray().items;
    for (let i = 0; i < items.length; i++) if (matches(items[i], values)) return true;
    return false;
  }
  if (v.isBool() || v.isNumber()) return values.includes(v.stringify());
  return false;
}

/** The index of the first required claim the token does not satisfy, or -1 when all are met. */
export function missingClaim(claims: JsonObject, required: RequiredClaim[]): i32 {
  for (let i = 0; i < required.length; i++) {
    const r = required[i];
    const v = claims.get(r.name);
    if (v == null || !matches(v, r.values)) return i;
  }
  return -1;
}

/** The header value of each forwarded claim (null where the token lacks it or holds JSON null). */
export function claimHeaderValues(claims: JsonObject, forward: ClaimHeader[]): Array<string | null> {
  const out = new Array<string | null>(forward.length);
  for (let i = 0; i < forward.length; i++) {
    const v = claims.get(forward[i].claim);
    out[i] = v != null && !v.isNull() ? claimHeaderValue(v) : null;
  }
  return out;
}

/** A claim as a header value: strings as they are, other JSON as compact JSON; control characters
 * are dropped so a claim can never split a header. */
export function claimHeaderValue(v: JsonValue): string {
  const s = v.isString() ? v.asString().value : v.stringify();
  let clean = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c == 0x7f) {
      clean = false;
      break;
    }
  }
  if (clean) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c != 0x7f) out += String.fromCharCode(c);
  }
  return out;
}
