// The built-in authentication filter: JWT (HS/RS/ES) and API keys. Configuration: ../config.schema.json;
// reference: docs/filters/builtins.md. On success the request continues with the configured claim or
// consumer headers; on failure it is answered here with 401 (or 403 for a missing required claim).
export * from '../../../sdk/assembly/abi';

import { toHex, utf8 } from '../../../sdk/assembly/bytes';
import {
  FilterHeadersStatus,
  GrpcStatus,
  HeaderPair,
  HttpContext,
  httpCallResponseBody,
  httpCallResponseHeaders,
  logError,
  logInfo,
  logWarn,
  nowMilliseconds,
  pluginConfiguration,
  RootContext,
  registerRootContext,
  requestHeaders,
  sendLocalResponse,
  WasmResult,
} from '../../../sdk/assembly/index';
import { jsonQuote, parseJson } from '../../../sdk/assembly/json';
import { hash, SHA256 } from '../../../sdk/assembly/sha2';
import { claimHeaderValues, missingClaim } from './claims';
import { ApiKeyConfig, AuthConfig, JwtConfig, parseAuthConfig } from './config';
import {
  afterPrefix,
  CredentialSource,
  cookieValue,
  FROM_COOKIE,
  FROM_QUERY,
  queryParam,
  withoutCookie,
  withoutQueryParam,
} from './credentials';
import { parseJwks } from './jwk';
import { timeFailure, verifyJws } from './jwt';
import { Accepted, TokenCache } from './token-cache';

/** Retry period while no JWKS fetch has succeeded yet. */
const RETRY_MS: u32 = 5000;

class AuthRoot extends RootContext {
  config: AuthConfig | null = null;
  cache: TokenCache = new TokenCache(0);

  onConfigure(configurationSize: u32): bool {
    const result = parseAuthConfig(pluginConfiguration.getText());
    if (result.config == null) {
      logError('legate auth: invalid configuration: ' + result.error);
      return false;
    }
    const c = result.config!;
    for (let i = 0; i < c.warnings.length; i++) logWarn('legate auth: ' + c.warnings[i]);
    this.config = c;
    // New keys or rules: nothing verified under the old ones may be reused.
    this.cache = new TokenCache(c.jwt != null ? c.jwt!.cacheSize : 0);
    if (c.jwt != null && c.jwt!.remote != null) this.fetchJwks();
    else this.setTickPeriod(0);
    return true;
  }

  onTick(): void {
    this.fetchJwks();
  }

  /** Fetches the remote JWKS; until a fetch succeeds, retries every RETRY_MS, then every refresh period. */
  private fetchJwks(): void {
    const remote = this.config!.jwt!.remote!;
    const headers: HeaderPair[] = [
      new HeaderPair(':method', 'GET'),
      new HeaderPair(':path', remote.path),
      new HeaderPair(':authority', remote.authority),
      new HeaderPair('accept', 'application/json'),
    ];
    const r = this.httpCall(remote.cluster, headers, null, [], <u32>remote.timeoutMs);
    if (r != WasmResult.Ok) logError('legate auth: cannot call JWKS cluster ' + remote.cluster);
    this.setTickPeriod(this.fetched ? <u32>(remote.refreshSeconds * 1000) : RETRY_MS);
  }

  fetched: bool = false;

  onHttpCallResponse(token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void {
    const c = this.config;
    if (c == null || c.jwt == null || c.jwt!.remote == null) return;
    const jwt = c.jwt!;
    const status = numHeaders > 0 ? httpCallResponseHeaders.get(':status') : null;
    if (status == null || status != '200') {
      logWarn(
        'legate auth: JWKS fetch failed (' +
          (status != null ? 'status ' + status : 'no response') +
          '); keeping the current keys',
      );
      return;
    }
    const parsed = parseJson(httpCallResponseBody.getText());
    if (!parsed.ok) {
      logWarn('legate auth: JWKS response is not JSON: ' + parsed.error);
      return;
    }
    const set = parseJwks(parsed.value!, 'jwksUri');
    for (let i = 0; i < set.errors.length; i++) logWarn('legate auth: ' + set.errors[i]);
    if (set.keys.length == 0) {
      logWarn('legate auth: the fetched JWKS has no usable keys; keeping the current keys');
      return;
    }
    jwt.keys = jwt.inlineKeys.concat(set.keys);
    // A rotated-out key must stop working now, not when cached tokens expire.
    this.cache.clear();
    if (!this.fetched) {
      this.fetched = true;
      this.setTickPeriod(<u32>(jwt.remote!.refreshSeconds * 1000));
    }
    logInfo('legate auth: loaded ' + set.keys.length.toString() + ' keys from the JWKS');
  }

  newHttpContext(contextId: u32): HttpContext {
    return new AuthRequest(contextId, this);
  }
}

/** A credential found in the request, and where, so it can be stripped. */
class Found {
  constructor(
    public value: string,
    public source: CredentialSource,
  ) {}
}

function find(sources: CredentialSource[]): Found | null {
  for (let i = 0; i < sources.length; i++) {
    const s = sources[i];
    let v: string | null = null;
    if (s.kind == FROM_QUERY) {
      const path = requestHeaders.get(':path');
      if (path != null) v = queryParam(path, s.name);
    } else if (s.kind == FROM_COOKIE) {
      const cookie = requestHeaders.get('cookie');
      if (cookie != null) v = cookieValue(cookie, s.name);
    } else {
      const h = requestHeaders.get(s.name);
      if (h != null) v = afterPrefix(h, s.prefix);
    }
    if (v != null && v.length > 0) return new Found(v, s);
  }
  return null;
}

function strip(f: Found): void {
  const s = f.source;
  if (s.kind == FROM_QUERY) {
    const path = requestHeaders.get(':path');
    if (path != null) requestHeaders.replace(':path', withoutQueryParam(path, s.name));
  } else if (s.kind == FROM_COOKIE) {
    const cookie = requestHeaders.get('cookie');
    if (cookie == null) return;
    const rest = withoutCookie(cookie, s.name);
    if (rest.length > 0) requestHeaders.replace('cookie', rest);
    else requestHeaders.remove('cookie');
  } else {
    requestHeaders.remove(s.name);
  }
}

function clearClaimHeaders(jwt: JwtConfig | null): void {
  if (jwt == null) return;
  for (let i = 0; i < jwt.forwardClaims.length; i++) requestHeaders.remove(jwt.forwardClaims[i].header);
}

function quoted(s: string): string {
  return '"' + s.replaceAll('\\', '').replaceAll('"', '') + '"';
}

class AuthRequest extends HttpContext {
  constructor(id: u32, root: RootContext) {
    super(id, root);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const root = changetype<AuthRoot>(this.root);
    const c = root.config;
    if (c == null) return this.deny(500, 'unavailable', 'authentication is not configured', '');
    const jwt = c.jwt;
    const keys = c.apiKeys;
    // Identity headers come only from this filter: a client must not be able to send its own. Every
    // path that lets the request through sets or removes each of them (a set replaces a client's
    // value, so removing first would only cost a host call); refused requests never reach upstream.

    const token = jwt != null ? find(jwt.sources) : null;
    const apiKey = keys != null ? find(keys.sources) : null;
    if (token == null && apiKey == null) {
      if (!c.allowAnonymous) return this.deny(401, 'missing_credentials', 'no credentials in the request', '');
      clearClaimHeaders(jwt);
      if (keys != null) requestHeaders.remove(keys.consumerHeader);
      return FilterHeadersStatus.Continue;
    }
    if (token != null) {
      const status = this.checkToken(root, jwt!, token);
      if (status != 0) return FilterHeadersStatus.StopIteration;
    } else {
      clearClaimHeaders(jwt);
    }
    if (apiKey != null) {
      if (!this.checkApiKey(keys!, apiKey)) return FilterHeadersStatus.StopIteration;
    } else if (keys != null) {
      requestHeaders.remove(keys.consumerHeader);
    }
    return FilterHeadersStatus.Continue;
  }

  /** 0 when the token is accepted (headers applied), else the status already answered. */
  private checkToken(root: AuthRoot, jwt: JwtConfig, found: Found): i32 {
    if (jwt.keys.length == 0) {
      // Only possible with jwksUri before its first successful fetch.
      this.deny(503, 'unavailable', 'token verification keys are not loaded yet', '');
      return 503;
    }
    const now = <i64>(nowMilliseconds() / 1000);
    let accepted = root.cache.get(found.value);
    const cached = accepted != null;
    if (accepted == null) {
      const verdict = verifyJws(found.value, jwt.keys, jwt.rules);
      if (!verdict.ok) {
        this.deny(401, 'invalid_token', verdict.message, 'invalid_token');
        return 401;
      }
      const claims = verdict.claims!;
      accepted = new Accepted(
        verdict.exp,
        verdict.nbf,
        missingClaim(claims, jwt.requiredClaims),
        claimHeaderValues(claims, jwt.forwardClaims),
      );
    }
    const late = timeFailure(accepted.exp, accepted.nbf, now, jwt.rules);
    // Only tokens inside their time window are cached; an entry found past it is dropped.
    if (!cached && late == null) root.cache.put(found.value, accepted);
    else if (cached && late != null) root.cache.remove(found.value);
    if (late != null) {
      this.deny(401, 'invalid_token', late.message, 'invalid_token');
      return 401;
    }
    if (accepted.missing >= 0) {
      const name = jwt.requiredClaims[accepted.missing].name;
      this.deny(
        403,
        'insufficient_claims',
        'token lacks required claim ' + jsonQuote(name).slice(1, -1),
        'insufficient_scope',
      );
      return 403;
    }
    for (let i = 0; i < jwt.forwardClaims.length; i++) {
      const v = accepted.values[i];
      if (v != null) requestHeaders.replace(jwt.forwardClaims[i].header, v);
      else requestHeaders.remove(jwt.forwardClaims[i].header);
    }
    if (!jwt.forwardToken) strip(found);
    return 0;
  }

  private checkApiKey(c: ApiKeyConfig, found: Found): bool {
    const digest = toHex(hash(SHA256, utf8(found.value)));
    if (!c.consumers.has(digest)) {
      this.deny(401, 'invalid_api_key', 'API key is not valid', '');
      return false;
    }
    requestHeaders.replace(c.consumerHeader, c.consumers.get(digest));
    if (!c.forwardKey) strip(found);
    return true;
  }

  /** Answers the request: JSON body naming what failed, WWW-Authenticate challenges (RFC 6750 §3). */
  private deny(status: u32, error: string, message: string, bearerError: string): FilterHeadersStatus {
    const c = changetype<AuthRoot>(this.root).config;
    const headers: HeaderPair[] = [new HeaderPair('content-type', 'application/json')];
    if (c != null && (status == 401 || status == 403)) {
      const realm = 'realm=' + quoted(c.realm);
      if (c.jwt != null) {
        let challenge = 'Bearer ' + realm;
        if (bearerError.length > 0)
          challenge += ', error=' + quoted(bearerError) + ', error_description=' + quoted(message);
        headers.push(new HeaderPair('www-authenticate', challenge));
      }
      if (c.apiKeys != null && status == 401) headers.push(new HeaderPair('www-authenticate', 'ApiKey ' + realm));
    }
    const body = '{"error":' + jsonQuote(error) + ',"message":' + jsonQuote(message) + '}';
    sendLocalResponse(status, body, headers, GrpcStatus.None, 'legate_auth_' + error);
    return FilterHeadersStatus.StopIteration;
  }
}

registerRootContext((id: u32): RootContext => new AuthRoot(id));
