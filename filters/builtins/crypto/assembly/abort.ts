// Envoy gives a wasm module no `env.abort`: modules are built with `--use abort=<this>` so that an
// AssemblyScript assertion failure traps instead of importing a function the host lacks.
export function trap(message: string | null, fileName: string | null, line: u32, column: u32): void {
  unreachable();
}
