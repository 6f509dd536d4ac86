// header-rewrite: sets, adds and removes request and response headers, as its configuration says.
//
//   { "request":  { "set": {"x-team": "payments"}, "add": {"via": "legate"}, "remove": ["x-debug"] },
//     "response": { "set": {"x-served-by": "legate"}, "remove": ["server"] },
//     "copyPathTo": "x-original-path" }
export * from '../../../sdk/assembly/abi';

import {
  ConfigReader,
  Counter,
  FilterHeadersStatus,
  HeaderMap,
  HttpContext,
  logError,
  pluginConfiguration,
  RootContext,
  registerRootContext,
  requestHeaders,
  responseHeaders,
} from '../../../sdk/assembly/index';

/** The edits for one header map, read from {"set": {...}, "add": {...}, "remove": [...]}. */
class HeaderEdits {
  set: Map<string, string> = new Map<string, string>();
  add: Map<string, string> = new Map<string, string>();
  remove: string[] = [];

  static read(cfg: ConfigReader): HeaderEdits {
    cfg.allowOnly(['set', 'add', 'remove']);
    const e = new HeaderEdits();
    e.set = cfg.stringMap('set');
    e.add = cfg.stringMap('add');
    e.remove = cfg.stringArray('remove');
    return e;
  }

  apply(map: HeaderMap): void {
    for (let i = 0; i < this.remove.length; i++) map.remove(this.remove[i]);
    const setKeys = this.set.keys();
    for (let i = 0; i < setKeys.length; i++) map.replace(setKeys[i], this.set.get(setKeys[i]));
    const addKeys = this.add.keys();
    for (let i = 0; i < addKeys.length; i++) map.add(addKeys[i], this.add.get(addKeys[i]));
  }
}

class RewriteRoot extends RootContext {
  request: HeaderEdits = new HeaderEdits();
  response: HeaderEdits = new HeaderEdits();
  copyPathTo: string = '';
  rewritten: Counter | null = null;

  onConfigure(size: u32): bool {
    const cfg = ConfigReader.fromText(pluginConfiguration.getText());
    cfg.allowOnly(['request', 'response', 'copyPathTo']);
    const request = HeaderEdits.read(cfg.object('request'));
    const response = HeaderEdits.read(cfg.object('response'));
    const copyPathTo = cfg.string('copyPathTo');
    if (!cfg.ok) {
      logError('header-rewrite: ' + cfg.errorText());
      return false;
    }
    this.request = request;
    this.response = response;
    this.copyPathTo = copyPathTo;
    if (this.rewritten == null) this.rewritten = new Counter('header_rewrite.requests');
    return true;
  }

  newHttpContext(id: u32): HttpContext {
    return new RewriteStream(id, this);
  }
}

class RewriteStream extends HttpContext {
  constructor(
    id: u32,
    private readonly config: RewriteRoot,
  ) {
    super(id, config);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    if (this.config.copyPathTo.length > 0) {
      const path = requestHeaders.get(':path');
      if (path != null) requestHeaders.replace(this.config.copyPathTo, path);
    }
    this.config.request.apply(requestHeaders);
    this.config.rewritten!.increment();
    return FilterHeadersStatus.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    this.config.response.apply(responseHeaders);
    return FilterHeadersStatus.Continue;
  }
}

registerRootContext((id: u32): RootContext => new RewriteRoot(id));
