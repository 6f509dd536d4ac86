// A tiny WebAssembly binary writer for tests: modules with exactly the imports and exports a test
// needs (a proxy-wasm 0.2.1 module, one importing env.abort, one without the ABI marker), so the
// module checks are exercised on real bytes that V8 compiles, without a build step.

export interface TestModuleSpec {
  /** Function imports, `module.name`, all of type () -> (). */
  imports?: string[];
  /** Exported functions (each a no-op of type () -> ()). */
  functions?: string[];
  /** Export a memory named `memory` (default true). */
  memory?: boolean;
  /** Extra bytes appended as a custom section, to make a module of a given size. */
  padding?: number;
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function str(s: string): number[] {
  const bytes = [...Buffer.from(s, 'utf8')];
  return [...uleb(bytes.length), ...bytes];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/** Encodes a valid module with the given function imports and exports. */
export function buildTestModule(spec: TestModuleSpec): Uint8Array {
  const imports = spec.imports ?? [];
  const functions = spec.functions ?? [];
  const memory = spec.memory ?? true;
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  out.push(...section(1, vec([[0x60, 0x00, 0x00]]))); // one type: () -> ()
  if (imports.length > 0) {
    out.push(
      ...section(
        2,
        vec(
          imports.map((full) => {
            const dot = full.indexOf('.');
            return [...str(full.slice(0, dot)), ...str(full.slice(dot + 1)), 0x00, 0x00];
          }),
        ),
      ),
    );
  }
  if (functions.length > 0) out.push(...section(3, vec(functions.map(() => [0x00]))));
  if (memory) out.push(...section(5, vec([[0x00, 0x01]]))); // memory, min 1 page
  const exports = functions.map((name, i) => [...str(name), 0x00, ...uleb(imports.length + i)]);
  if (memory) exports.push([...str('memory'), 0x02, 0x00]);
  if (exports.length > 0) out.push(...section(7, vec(exports)));
  if (functions.length > 0) out.push(...section(10, vec(functions.map(() => [0x02, 0x00, 0x0b]))));
  if (spec.padding) out.push(...section(0, [...str('padding'), ...new Array<number>(spec.padding).fill(0)]));
  return new Uint8Array(out);
}

/** The smallest module Envoy would load as a proxy-wasm 0.2.1 filter. */
export function proxyWasmModule(extra: Omit<TestModuleSpec, 'functions'> & { functions?: string[] } = {}): Uint8Array {
  return buildTestModule({
    ...extra,
    imports: extra.imports ?? ['env.proxy_log'],
    functions: [
      'proxy_abi_version_0_2_1',
      'proxy_on_memory_allocate',
      'proxy_on_context_create',
      ...(extra.functions ?? []),
    ],
  });
}
