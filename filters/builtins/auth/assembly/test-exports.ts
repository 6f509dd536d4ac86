// Entry point of the auth core test module: parses a real auth configuration and runs the JWT and
// API-key decisions without a proxy-wasm host, so the tests can sweep many tokens quickly.
// Byte ABI as in crypto/assembly/test-exports.ts: input slots in, one output buffer out.
import '../../crypto/assembly/abort';
import { toHex, utf8 } from '../../crypto/assembly/bytes';
import { hash, SHA256 } from '../../crypto/assembly/sha2';
import { missingClaim } from './claims';
import { AuthConfig, parseAuthConfig } from './config';
import { checkTime, verifyJws } from './jwt';

const inputs = new Array<Uint8Array>(4);
let output = new Uint8Array(0);
let config: AuthConfig | null = null;

export function input(slot: i32, len: i32): usize {
  const buf = new Uint8Array(len);
  inputs[slot] = buf;
  return buf.dataStart;
}

export function outputPtr(): usize {
  return output.dataStart;
}

export function outputLen(): i32 {
  return output.length;
}

function text(slot: i32): string {
  return String.UTF8.decode(inputs[slot].buffer, false);
}

function setOutput(s: string): void {
  output = Uint8Array.wrap(String.UTF8.encode(s));
}

/** Input 0: configuration JSON. 1 when accepted; 0 with the reason in the output. */
export function configure(): i32 {
  const r = parseAuthConfig(text(0));
  config = r.config;
  setOutput(r.error);
  return r.config != null ? 1 : 0;
}

/**
 * Input 0: a token. The verdict as the filter would answer it: 200 (output: the verified claims as
 * JSON), 401 or 403 (output: the message).
 */
export function checkToken(nowSeconds: i64): i32 {
  const jwt = config!.jwt!;
  const v = checkTime(verifyJws(text(0), jwt.keys, jwt.rules), nowSeconds, jwt.rules);
  if (!v.ok) {
    setOutput(v.message);
    return 401;
  }
  const missing = missingClaim(v.claims!, jwt.requiredClaims);
  if (missing != null) {
    setOutput(missing);
    return 403;
  }
  setOutput(v.claims!.stringify());
  return 200;
}

/** Input 0: an API key. 200 with the consumer as output, or 401. */
export function checkApiKey(): i32 {
  const keys = config!.apiKeys!;
  const digest = toHex(hash(SHA256, utf8(text(0))));
  if (!keys.consumers.has(digest)) return 401;
  setOutput(keys.consumers.get(digest));
  return 200;
}
