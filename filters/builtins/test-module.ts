// Node-side access to the host-free test modules (*/assembly/test-exports.ts): they share a tiny byte
// ABI — `input(slot, len)` returns where to write input bytes, results come back through
// `outputPtr()`/`outputLen()` — so the same wrapper serves the crypto, auth and rate-limit tests.
import { builtinWasm, type ModuleName } from './build.ts';
import { type WasmMemory, wasmApi } from './wasm-runtime.ts';

type ByteAbi = {
  memory: WasmMemory;
  input(slot: number, len: number): number;
  outputPtr(): number;
  outputLen(): number;
};

export class TestModule<Fns> {
  readonly fns: Fns;
  private readonly abi: ByteAbi;

  private constructor(exports: object) {
    this.abi = exports as ByteAbi;
    this.fns = exports as Fns;
  }

  static async load<Fns>(name: ModuleName): Promise<TestModule<Fns>> {
    const { instance } = await wasmApi.instantiate(await builtinWasm(name), {});
    return new TestModule<Fns>(instance.exports);
  }

  /** Copies each input (bytes, or text as UTF-8) into its slot: the first into slot 0, and so on. */
  setInputs(...inputs: (Uint8Array | string)[]): void {
    inputs.forEach((input, slot) => {
      const bytes = typeof input === 'string' ? Buffer.from(input) : input;
      const ptr = this.abi.input(slot, bytes.length);
      new Uint8Array(this.abi.memory.buffer, ptr, bytes.length).set(bytes);
    });
  }

  output(): Buffer {
    return Buffer.from(new Uint8Array(this.abi.memory.buffer, this.abi.outputPtr(), this.abi.outputLen()));
  }
}
