// Kept apart because Biome cannot parse AssemblyScript decorators.
import { log } from './host';
import { LogLevel } from './types';

/**
 * Envoy provides no env.abort: builds use `--use abort=legateAbort`, so a failed assertion or an
 * out-of-range access logs where it happened and traps (Envoy then fails the stream or the VM).
 */
// @ts-ignore: decorator
@global
function legateAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  let text = "abort: " + (message != null ? message : "unknown");
  if (fileName != null) text += " at " + fileName + ":" + line.toString() + ":" + column.toString();
  log(LogLevel.Critical, text);
  unreachable();
}
