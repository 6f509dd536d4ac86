// The byte ABI the builtins' test modules share, so node:test files can call AssemblyScript code
// directly: the caller fills input slots (`input(i, len)` returns where to write), calls a function,
// then reads `outputPtr()`/`outputLen()`. Slots live in globals, so the GC keeps them. An entry file
// re-exports `input`, `outputPtr` and `outputLen`.

export const inputs = new Array<Uint8Array>(4);
let output = new Uint8Array(0);

export function input(slot: i32, len: i32): usize {
  const buf = new Uint8Array(len);
  inputs[slot] = buf;
  return buf.dataStart;
}

export function outputPtr(): usize {
  return output.dataStart;
}

export function outputLen(): i32 {
  return output.length;
}

/** Input `slot` as UTF-8 text. */
export function inputText(slot: i32): string {
  return String.UTF8.decode(inputs[slot].buffer, false);
}

export function setOutput(bytes: Uint8Array): void {
  output = bytes;
}

export function setOutputText(s: string): void {
  output = Uint8Array.wrap(String.UTF8.encode(s));
}
