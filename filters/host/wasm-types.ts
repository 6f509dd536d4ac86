// The repository's TypeScript lib (es2024, no DOM) declares no WebAssembly types; these are the few
// shapes the host uses, over Node's global WebAssembly (V8, Envoy's default runtime).
export type WasmMemory = { readonly buffer: ArrayBuffer };
export type WasmExports = Record<string, unknown> & { memory?: WasmMemory };
export type WasmInstance = { readonly exports: WasmExports };
export type WasmModule = object;
export type WasmImportDescriptor = { module: string; name: string; kind: string };
export type WasmExportDescriptor = { name: string; kind: string };

type WasmApi = {
  Module: {
    new (bytes: Uint8Array): WasmModule;
    imports(module: WasmModule): WasmImportDescriptor[];
    exports(module: WasmModule): WasmExportDescriptor[];
  };
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
  compile(bytes: Uint8Array): Promise<WasmModule>;
  RuntimeError: new (message?: string) => Error;
};

export const WebAssemblyApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
