// Kept apart because Biome cannot parse AssemblyScript decorators.
import { proxy_log } from './imports';

// The message is assembled in a static buffer, without strings or number formatting, so the abort
// handler adds almost nothing to a module (the no-op filter stays under 10 KB).
const ABORT_BUFFER_SIZE: usize = 512;
const abortBuffer: usize = memory.data(512);

function appendText(at: usize, s: string): usize {
  const room = ABORT_BUFFER_SIZE - (at - abortBuffer);
  let chars = s.length;
  if (<usize>chars * 3 > room) chars = <i32>(room / 3);
  return at + String.UTF8.encodeUnsafe(changetype<usize>(s), chars, at, false);
}

function appendNumber(at: usize, n: u32): usize {
  let digits: usize = 1;
  for (let v = n; v >= 10; v /= 10) digits++;
  if (at + digits > abortBuffer + ABORT_BUFFER_SIZE) return at;
  for (let i = digits; i > 0; i--) {
    store<u8>(at + i - 1, <u8>(48 + (n % 10)));
    n /= 10;
  }
  return at + digits;
}

/**
 * Envoy provides no env.abort: builds use `--use abort=legateAbort`, so a failed assertion or an
 * out-of-range access logs "abort: <message> at <file>:<line>:<column>" at critical level and traps
 * (Envoy then fails the VM; its streams fail closed).
 */
// @ts-ignore: decorator
@global
function legateAbort(
  message: string | null = null,
  fileName: string | null = null,
  line: u32 = 0,
  column: u32 = 0,
): void {
  let at = appendText(abortBuffer, "abort: ");
  at = appendText(at, message != null ? message : "unknown");
  if (fileName != null) {
    at = appendText(at, " at ");
    at = appendText(at, fileName);
    at = appendText(at, ":");
    at = appendNumber(at, line);
    at = appendText(at, ":");
    at = appendNumber(at, column);
  }
  proxy_log(5, abortBuffer, at - abortBuffer);
  unreachable();
}
