import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { checkModule, sha256Hex } from './module-check.ts';
import { buildTestModule, proxyWasmModule } from './testing/wasm-builder.ts';

const limit = { maxBytes: 1024 * 1024 };

function fail(result: Awaited<ReturnType<typeof checkModule>>) {
  assert.equal(result.ok, false, 'expected the check to fail');
  if (result.ok) throw new Error('unreachable');
  return result.problem;
}

describe('checkModule', () => {
  it('accepts a proxy-wasm 0.2.1 module and reports its digest, size and ABI', async () => {
    const bytes = proxyWasmModule();
    const result = await checkModule(bytes, { ...limit, sha256: sha256Hex(bytes) });
    assert.ok(result.ok);
    assert.equal(result.module.sha256, sha256Hex(bytes));
    assert.equal(result.module.size, bytes.length);
    assert.equal(result.module.abiVersion, '0.2.1');
  });

  it('reports a checksum mismatch with both digests and the field it came from', async () => {
    const bytes = proxyWasmModule();
    const expected = 'c'.repeat(64);
    const p = fail(await checkModule(bytes, { ...limit, sha256: expected, sha256Field: 'spec.source.https.sha256' }));
    assert.equal(p.reason, 'ChecksumMismatch');
    assert.equal(
      p.message,
      `sha256 mismatch: expected ${expected} (spec.source.https.sha256), got ${sha256Hex(bytes)}`,
    );
  });

  it('names env.abort, which Envoy does not provide, with the AssemblyScript fix', async () => {
    const p = fail(await checkModule(proxyWasmModule({ imports: ['env.proxy_log', 'env.abort'] }), limit));
    assert.equal(p.reason, 'UnsupportedImport');
    assert.match(p.message, /^imports a function Envoy does not provide: env\.abort \(function\): .*--use abort=/);
  });

  it('names every unsupported import, including foreign modules', async () => {
    const p = fail(
      await checkModule(proxyWasmModule({ imports: ['env.seed', 'wasi_snapshot_preview1.sock_accept'] }), limit),
    );
    assert.match(
      p.message,
      /^imports 2 functions Envoy does not provide: env\.seed .*; wasi_snapshot_preview1\.sock_accept/,
    );
  });

  it('accepts the WASI functions Envoy provides', async () => {
    const result = await checkModule(
      proxyWasmModule({ imports: ['wasi_snapshot_preview1.fd_write', 'env.proxy_log'] }),
      limit,
    );
    assert.ok(result.ok);
  });

  it('refuses a module of another ABI version, naming the marker it found', async () => {
    const bytes = buildTestModule({ functions: ['proxy_abi_version_0_1_0', 'proxy_on_memory_allocate'] });
    const p = fail(await checkModule(bytes, limit));
    assert.equal(p.reason, 'NotProxyWasm');
    assert.equal(
      p.message,
      'not a proxy-wasm 0.2.1 module: it exports proxy_abi_version_0_1_0 (expected proxy_abi_version_0_2_1)',
    );
  });

  it('refuses a plain WebAssembly module and one without the allocator or memory', async () => {
    assert.match(
      fail(await checkModule(buildTestModule({ functions: ['run'] }), limit)).message,
      /exports no proxy_abi_version_\* marker/,
    );
    const noAlloc = buildTestModule({ functions: ['proxy_abi_version_0_2_1'] });
    assert.match(
      fail(await checkModule(noAlloc, limit)).message,
      /missing export proxy_on_memory_allocate \(function\)/,
    );
    const noMemory = buildTestModule({
      functions: ['proxy_abi_version_0_2_1', 'proxy_on_memory_allocate'],
      memory: false,
    });
    assert.match(fail(await checkModule(noMemory, limit)).message, /missing export memory \(memory\)/);
  });

  it('says what non-WebAssembly bytes look like', async () => {
    const html = new TextEncoder().encode('<!DOCTYPE html><html>404</html>');
    assert.equal(fail(await checkModule(html, limit)).message, 'not a WebAssembly module: it looks like an HTML page');
    const truncated = proxyWasmModule().subarray(0, 20);
    const p = fail(await checkModule(truncated, limit));
    assert.equal(p.reason, 'InvalidWasm');
    assert.match(
      p.message,
      /^not a WebAssembly module: WebAssembly\.compile\(\): section .* extends past end of the module/,
      'the compiler locates the fault',
    );
  });

  it('refuses a module over the size limit before hashing it', async () => {
    const bytes = proxyWasmModule({ padding: 5000 });
    const p = fail(await checkModule(bytes, { maxBytes: 4096 }));
    assert.equal(p.reason, 'TooLarge');
    assert.equal(p.message, `module is 5.0 KiB (${bytes.length} bytes), over the 4 KiB limit`);
  });

  it('accepts the filters the SDK builds (when built)', async (t) => {
    const built = new URL('../../../filters/build/header-rewrite.wasm', import.meta.url);
    if (!existsSync(built)) return t.diagnostic('filters/build not built; covered by the synthetic modules above');
    const result = await checkModule(new Uint8Array(readFileSync(built)), limit);
    assert.ok(result.ok, result.ok ? '' : result.problem.message);
  });
});
