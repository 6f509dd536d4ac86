import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtModule } from '../../cli/build-examples.ts';
import { FilterHost } from '../../host/index.ts';

const config = { cluster: 'authz', authority: 'authz.internal', path: '/check', timeoutMs: 250 };
const request = { ':method': 'GET', ':path': '/orders', ':authority': 'shop', authorization: 'Bearer abc' };

async function load() {
  return FilterHost.load(await builtModule('http-callout'), { configuration: config, clusters: ['authz'] });
}

describe('http-callout example', () => {
  it('pauses the request, calls the service with the caller credentials, and resumes on 200', async () => {
    const host = await load();
    const stream = host.newStream();
    assert.equal(stream.sendRequestHeaders(request, false), 'StopAllIterationAndWatermark');
    assert.equal(stream.requestPaused, true);
    // The body waits while the call is out (Envoy buffers it).
    assert.equal(stream.sendRequestBody('{"qty":1}'), 'Held');
    const [call] = stream.pendingHttpCalls;
    assert.ok(call);
    assert.equal(call.upstream, 'authz');
    assert.equal(call.headers.get(':path'), '/check');
    assert.equal(call.headers.get(':authority'), 'authz.internal');
    assert.equal(call.headers.get('authorization'), 'Bearer abc');
    assert.equal(call.timeoutMs, 250);

    call.respond({ status: 200, headers: { 'x-user': 'alice' } });
    assert.equal(stream.requestPaused, false);
    assert.equal(stream.request.headers.get('x-user'), 'alice');
    assert.equal(stream.request.body, '{"qty":1}', 'the held body reaches the upstream after resuming');
    assert.equal(stream.localResponse, null);
    assert.equal(host.metric('http_callout.allowed'), 1);
  });

  it('answers 403 itself when the service says no', async () => {
    const host = await load();
    const stream = host.newStream();
    stream.sendRequestHeaders(request);
    stream.pendingHttpCalls[0]!.respond({ status: 401 });
    assert.equal(stream.localResponse?.status, 403);
    assert.equal(stream.localResponse?.body, 'forbidden\n');
    assert.deepEqual(stream.localResponse?.headers, [['content-type', 'text/plain']]);
    assert.equal(host.metric('http_callout.denied'), 1);
    assert.match(host.logMessages('info').join('\n'), /denied with status 401/);
  });

  it('answers 503 when the call times out', async () => {
    const host = await load();
    const stream = host.newStream();
    stream.sendRequestHeaders(request);
    host.advance(249);
    assert.equal(stream.localResponse === null, true, 'no answer before the timeout');
    host.advance(1);
    assert.equal(stream.localResponse?.status, 503);
    assert.equal(host.metric('http_callout.failed'), 1);
  });

  it('answers 503 at once when the cluster is unknown to Envoy', async () => {
    const host = await FilterHost.load(await builtModule('http-callout'), { configuration: config, clusters: [] });
    const stream = host.newStream();
    stream.sendRequestHeaders(request);
    assert.equal(stream.localResponse?.status, 503);
    assert.equal(host.dispatchedHttpCalls, 0);
  });

  it('requires a cluster in its configuration', async () => {
    const host = await FilterHost.load(await builtModule('http-callout'), { configuration: {} });
    assert.equal(host.configured, false);
    assert.match(host.logMessages('error')[0] ?? '', /config\.cluster: required/);
  });
});
