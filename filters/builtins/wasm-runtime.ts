// Node has WebAssembly at run time, but the repository's TypeScript lib (es2024, no DOM) declares no
// types for it; these are the few shapes the built-in filter tests and the bench use.
export type WasmMemory = { readonly buffer: ArrayBuffer };
type WasmApi = {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: object } }>;
};

export const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
