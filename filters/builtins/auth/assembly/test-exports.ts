// Entry point of the auth core test module: parses a real auth configuration and runs the JWT and
// API-key decisions without a proxy-wasm host, so the tests can sweep many tokens quickly.
// Byte ABI as in crypto/assembly/test-abi.ts: input slots in, one output buffer out.
import '../../crypto/assembly/abort';
import { toHex, utf8 } from '../../../sdk/assembly/bytes';
import { hash, SHA256 } from '../../../sdk/assembly/sha2';
import { inputText, setOutputText } from '../../crypto/assembly/test-abi';
import { missingClaim } from './claims';
import { AuthConfig, parseAuthConfig } from './config';
import { checkTime, verifyJws } from './jwt';

export { input, outputLen, outputPtr } from '../../crypto/assembly/test-abi';

let config: AuthConfig | null = null;

/** Input 0: configuration JSON. 1 when accepted; 0 with the reason in the output. */
export function configure(): i32 {
  const r = parseAuthConfig(inputText(0));
  config = r.config;
  setOutputText(r.error);
  return r.config != null ? 1 : 0;
}

/**
 * Input 0: a token. The verdict as the filter would answer it: 200 (output: the verified claims as
 * JSON), 401 or 403 (output: the message).
 */
export function checkToken(nowSeconds: i64): i32 {
  const jwt = config!.jwt!;
  const v = checkTime(verifyJws(inputText(0), jwt.keys, jwt.rules), nowSeconds, jwt.rules);
  if (!v.ok) {
    setOutputText(v.message);
    return 401;
  }
  const missing = missingClaim(v.claims!, jwt.requiredClaims);
  if (missing >= 0) {
    setOutputText(jwt.requiredClaims[missing].name);
    return 403;
  }
  setOutputText(v.claims!.stringify());
  return 200;
}

/** Input 0: an API key. 200 with the consumer as output, or 401. */
export function checkApiKey(): i32 {
  const keys = config!.apiKeys!;
  const digest = toHex(hash(SHA256, utf8(inputText(0))));
  if (!keys.consumers.has(digest)) return 401;
  setOutputText(keys.consumers.get(digest));
  return 200;
}
