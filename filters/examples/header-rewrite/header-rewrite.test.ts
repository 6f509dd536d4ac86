import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtModule } from '../../cli/build-examples.ts';
import { FilterHost } from '../../host/index.ts';

const config = {
  request: { set: { 'x-team': 'payments' }, add: { via: 'legate' }, remove: ['x-debug'] },
  response: { set: { 'x-served-by': 'legate' }, remove: ['server'] },
  copyPathTo: 'x-original-path',
};

const get = { ':method': 'GET', ':path': '/orders?id=7', ':authority': 'shop.example', ':scheme': 'https' };

describe('header-rewrite example', () => {
  it('sets, adds and removes request headers and lets the request through', async () => {
    const host = await FilterHost.load(await builtModule('header-rewrite'), { configuration: config });
    assert.equal(host.configured, true);
    const stream = host.newStream();
    const status = stream.sendRequestHeaders({ ...get, 'x-debug': 'on', 'x-team': 'spoofed', via: 'edge' });
    assert.equal(status, 'Continue');
    const h = stream.request.headers;
    assert.equal(h.get('x-team'), 'payments', 'set replaces a client-sent value');
    assert.equal(h.has('x-debug'), false);
    assert.deepEqual(h.getAll('via'), ['edge', 'legate'], 'add keeps the existing value');
    assert.equal(h.get('x-original-path'), '/orders?id=7');
    assert.equal(stream.localResponse, null);
  });

  it('rewrites response headers and counts requests', async () => {
    const host = await FilterHost.load(await builtModule('header-rewrite'), { configuration: config });
    for (let i = 0; i < 3; i++) {
      const stream = host.newStream();
      stream.sendRequestHeaders(get);
      stream.sendResponseHeaders({ ':status': '200', server: 'gunicorn' });
      assert.equal(stream.response.headers.get('x-served-by'), 'legate');
      assert.equal(stream.response.headers.has('server'), false);
      stream.complete();
    }
    assert.equal(host.metric('header_rewrite.requests'), 3);
  });

  it('rejects a configuration with a typo or a wrong type, naming the field', async () => {
    const host = await FilterHost.load(await builtModule('header-rewrite'), {
      configuration: { request: { set: { 'x-n': 1 } }, respones: {} },
    });
    assert.equal(host.configured, false);
    const [error] = host.logMessages('error');
    assert.match(error ?? '', /config\.respones: unknown field/);
    assert.match(error ?? '', /config\.request\.set\.x-n: expected a string, got number/);
  });
});
