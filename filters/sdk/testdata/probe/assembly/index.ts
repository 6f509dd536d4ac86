// probe: a test filter that exercises the SDK surface the examples do not, so the host tests (and
// the cross-check) can drive JSON, base64, shared data with CAS, queues, timers, properties, bodies
// and metrics through a real module. Requests choose the action with the "x-probe" header.
export * from '../../../assembly/abi';

import {
  base64DecodeText,
  base64Encode,
  ConfigReader,
  Counter,
  dequeueSharedQueue,
  enqueueSharedQueue,
  FilterDataStatus,
  FilterHeadersStatus,
  Gauge,
  getProperty,
  getPropertyString,
  getSharedData,
  HeaderPair,
  Histogram,
  HttpContext,
  logError,
  logInfo,
  parseJson,
  pluginConfiguration,
  RootContext,
  registerRootContext,
  registerSharedQueue,
  requestBody,
  requestHeaders,
  resolveSharedQueue,
  responseBody,
  sendLocalResponse,
  setSharedText,
  WasmResult,
} from '../../../assembly/index';

class ProbeRoot extends RootContext {
  greeting: string = '';
  limit: i64 = 0;
  tags: string[] = [];
  ticks: Counter | null = null;
  inflight: Gauge | null = null;
  sizes: Histogram | null = null;
  queue: u32 = 0;

  onConfigure(size: u32): bool {
    const cfg = ConfigReader.fromText(pluginConfiguration.getText());
    cfg.allowOnly(['greeting', 'limit', 'tags', 'tickMs', 'nested']);
    const greeting = cfg.string('greeting', 'hello');
    const limit = cfg.int('limit', 10, 1, 1000);
    const tags = cfg.stringArray('tags');
    const tickMs = cfg.int('tickMs', 0, 0, 60000);
    const nested = cfg.objectArray('nested');
    for (let i = 0; i < nested.length; i++) nested[i].requiredString('name');
    if (!cfg.ok) {
      logError('probe: ' + cfg.errorText());
      return false;
    }
    this.greeting = greeting;
    this.limit = limit;
    this.tags = tags;
    this.ticks = new Counter('probe.ticks');
    this.inflight = new Gauge('probe.inflight');
    this.sizes = new Histogram('probe.body_size');
    this.queue = registerSharedQueue('probe');
    if (tickMs > 0) this.setTickPeriod(<u32>tickMs);
    logInfo('probe: configured greeting=' + greeting + ' limit=' + limit.toString() + ' tags=' + tags.join(','));
    return true;
  }

  onTick(): void {
    this.ticks!.increment();
  }

  onQueueReady(queueId: u32): void {
    const item = dequeueSharedQueue(queueId);
    if (item != null) logInfo('probe: dequeued ' + String.UTF8.decode(item));
  }

  newHttpContext(id: u32): HttpContext {
    return new ProbeStream(id, this);
  }
}

/** Adds 1 to a shared counter with compare-and-swap, retrying when another worker won the race. */
function incrementShared(key: string): i32 {
  for (let attempt = 0; attempt < 10; attempt++) {
    const current = getSharedData(key);
    const value = current != null ? I32.parseInt(current.text()) : 0;
    const cas = current != null ? current.cas : 0;
    if (setSharedText(key, (value + 1).toString(), cas) == WasmResult.Ok) return value + 1;
  }
  return -1;
}

class ProbeStream extends HttpContext {
  action: string = '';
  constructor(
    id: u32,
    private readonly owner: ProbeRoot,
  ) {
    super(id, owner);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    this.owner.inflight!.add(1);
    const a = requestHeaders.get('x-probe');
    this.action = a != null ? a : '';
    const arg = requestHeaders.get('x-arg');
    const argument = arg != null ? arg : '';
    if (this.action == 'json') {
      const r = parseJson(argument);
      if (!r.ok) sendLocalResponse(400, r.error);
      else sendLocalResponse(200, r.value!.stringify());
      return FilterHeadersStatus.StopIteration;
    }
    if (this.action == 'base64') {
      const text = base64DecodeText(argument);
      if (text == null) sendLocalResponse(400, 'bad base64');
      else sendLocalResponse(200, text + '|' + base64Encode(String.UTF8.encode(text), true));
      return FilterHeadersStatus.StopIteration;
    }
    if (this.action == 'count') {
      requestHeaders.replace('x-count', incrementShared('probe.count').toString());
      return FilterHeadersStatus.Continue;
    }
    if (this.action == 'enqueue') {
      const q = resolveSharedQueue('', 'probe');
      enqueueSharedQueue(q, String.UTF8.encode(argument));
      return FilterHeadersStatus.Continue;
    }
    if (this.action == 'props') {
      const path = getPropertyString(['request', 'path']);
      const source = getPropertyString(['source', 'address']);
      const size = getProperty(['request', 'size']);
      requestHeaders.replace('x-prop-path', path != null ? path : '<none>');
      requestHeaders.replace('x-prop-source', source != null ? source : '<none>');
      requestHeaders.replace('x-prop-missing', getProperty(['no', 'such']) == null ? 'null' : 'set');
      requestHeaders.replace('x-prop-size-bytes', size != null ? size.byteLength.toString() : '<none>');
      return FilterHeadersStatus.Continue;
    }
    if (this.action == 'config') {
      sendLocalResponse(
        200,
        this.owner.greeting + ';' + this.owner.limit.toString() + ';' + this.owner.tags.join(','),
        [new HeaderPair('x-probe', 'config')],
      );
      return FilterHeadersStatus.StopIteration;
    }
    if (this.action == 'pairs') {
      const pairs = requestHeaders.pairs();
      let out = '';
      for (let i = 0; i < pairs.length; i++) out += pairs[i].key + '=' + pairs[i].value + '\n';
      sendLocalResponse(200, out);
      return FilterHeadersStatus.StopIteration;
    }
    if (this.action == 'grpc-deny') {
      sendLocalResponse(200, '', [], 7, 'probe_denied');
      return FilterHeadersStatus.StopIteration;
    }
    if (this.action == 'abort') {
      if (argument != 'never') abort('probe asked to abort'); // traps through legateAbort
    }
    if (this.action == 'out-of-range') {
      const items = new Array<string>(1);
      logInfo(items[argument.length + 3]); // a bounds check fails: abort with file and line
    }
    return FilterHeadersStatus.Continue;
  }

  onRequestBody(bodySize: u32, endOfStream: bool): FilterDataStatus {
    if (this.action == 'upper-body') {
      if (!endOfStream) return FilterDataStatus.StopIterationAndBuffer;
      this.owner.sizes!.record(bodySize);
      requestBody.replaceText(requestBody.getText().toUpperCase());
    }
    return FilterDataStatus.Continue;
  }

  onResponseBody(bodySize: u32, endOfStream: bool): FilterDataStatus {
    if (this.action == 'wrap-response' && endOfStream) {
      responseBody.replaceText('[' + responseBody.getText() + ']');
    }
    return FilterDataStatus.Continue;
  }

  onLog(): void {
    this.owner.inflight!.add(-1);
    logInfo('probe: log ' + this.action);
  }
}

registerRootContext((id: u32): RootContext => new ProbeRoot(id));
