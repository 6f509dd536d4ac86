// http-callout: asks an authorization service before letting a request through. On request headers
// it calls the configured Envoy cluster with the caller's Authorization header and pauses the
// request; on the answer it either resumes the request (adding the user the service named) or
// answers 403 itself. A failed or timed-out call answers 503.
//
//   { "cluster": "authz", "authority": "authz.internal", "path": "/check", "timeoutMs": 500,
//     "userHeader": "x-user" }
export * from '../../../sdk/assembly/abi';

import {
  ConfigReader,
  Counter,
  continueRequest,
  FilterHeadersStatus,
  HeaderPair,
  HttpContext,
  httpCallResponseHeaders,
  logError,
  logInfo,
  pluginConfiguration,
  RootContext,
  registerRootContext,
  requestHeaders,
  sendLocalResponse,
  WasmResult,
} from '../../../sdk/assembly/index';

class CalloutConfig {
  cluster: string = '';
  authority: string = '';
  path: string = '/check';
  timeoutMs: u32 = 1000;
  userHeader: string = 'x-user';
}

class CalloutRoot extends RootContext {
  config: CalloutConfig = new CalloutConfig();
  allowed: Counter | null = null;
  denied: Counter | null = null;
  failed: Counter | null = null;

  onConfigure(size: u32): bool {
    const cfg = ConfigReader.fromText(pluginConfiguration.getText());
    cfg.allowOnly(['cluster', 'authority', 'path', 'timeoutMs', 'userHeader']);
    const c = new CalloutConfig();
    c.cluster = cfg.requiredString('cluster');
    c.authority = cfg.string('authority', c.cluster);
    c.path = cfg.string('path', c.path);
    c.timeoutMs = <u32>cfg.int('timeoutMs', c.timeoutMs, 1, 60000);
    c.userHeader = cfg.string('userHeader', c.userHeader);
    if (!cfg.ok) {
      logError('http-callout: ' + cfg.errorText());
      return false;
    }
    this.config = c;
    if (this.allowed == null) {
      this.allowed = new Counter('http_callout.allowed');
      this.denied = new Counter('http_callout.denied');
      this.failed = new Counter('http_callout.failed');
    }
    return true;
  }

  newHttpContext(id: u32): HttpContext {
    return new CalloutStream(id, this);
  }
}

class CalloutStream extends HttpContext {
  constructor(
    id: u32,
    private readonly owner: CalloutRoot,
  ) {
    super(id, owner);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const c = this.owner.config;
    const headers: HeaderPair[] = [
      new HeaderPair(':method', 'GET'),
      new HeaderPair(':path', c.path),
      new HeaderPair(':authority', c.authority),
    ];
    const auth = requestHeaders.get('authorization');
    if (auth != null) headers.push(new HeaderPair('authorization', auth));
    const r = this.httpCall(c.cluster, headers, null, [], c.timeoutMs);
    if (r != WasmResult.Ok) {
      logError('http-callout: cannot call cluster ' + c.cluster);
      this.owner.failed!.increment();
      sendLocalResponse(503, 'authorization service unavailable\n');
      return FilterHeadersStatus.StopIteration;
    }
    // Envoy would turn StopIteration into this anyway (allow_on_headers_stop_iteration is off):
    // say what happens, the body waits too.
    return FilterHeadersStatus.StopAllIterationAndWatermark;
  }

  onHttpCallResponse(token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void {
    if (numHeaders == 0) {
      this.owner.failed!.increment();
      sendLocalResponse(503, 'authorization service unavailable\n');
      return;
    }
    const status = httpCallResponseHeaders.get(':status');
    if (status != '200') {
      this.owner.denied!.increment();
      logInfo('http-callout: denied with status ' + (status != null ? status! : 'none'));
      sendLocalResponse(403, 'forbidden\n', [new HeaderPair('content-type', 'text/plain')]);
      return;
    }
    const user = httpCallResponseHeaders.get('x-user');
    if (user != null) requestHeaders.replace(this.owner.config.userHeader, user);
    this.owner.allowed!.increment();
    continueRequest();
  }
}

registerRootContext((id: u32): RootContext => new CalloutRoot(id));
