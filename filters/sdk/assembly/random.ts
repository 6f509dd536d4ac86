// Random bytes and ids from the host: WASI random_get, which Envoy provides to every proxy-wasm module
// (it reads a cryptographically secure generator). The test host answers it too, from a seeded
// generator when the test pins one (FilterHostOptions.randomSeed), so a test can pin a generated id.
// AssemblyScript's Math.random needs an `env.seed` import Envoy lacks: use these instead.

import { base64Encode } from './base64';
import { hexEncode } from './hex';
import { wasi_random_get } from './imports';

/** Fills `length` bytes at `ptr` with random bytes; traps if the host refuses (Envoy never does). */
export function randomFillRaw(ptr: usize, length: usize): void {
  if (length == 0) return;
  if (wasi_random_get(ptr, length) != 0) abort('random_get failed');
}

/** Fills `buf` with random bytes. */
export function randomFill(buf: Uint8Array): void {
  randomFillRaw(buf.dataStart, <usize>buf.length);
}

/** `n` random bytes. */
export function randomBytes(n: i32): Uint8Array {
  const out = new Uint8Array(n);
  randomFill(out);
  return out;
}

const scratch: usize = memory.data(8);

export function randomU32(): u32 {
  randomFillRaw(scratch, 4);
  return load<u32>(scratch);
}

export function randomU64(): u64 {
  randomFillRaw(scratch, 8);
  return load<u64>(scratch);
}

/** A uniform integer in [0, bound) without modulo bias; 0 when bound is 0. */
export function randomBelow(bound: u32): u32 {
  if (bound == 0) return 0;
  // Reject the top partial range so that every residue is equally likely.
  const limit = u32.MAX_VALUE - (u32.MAX_VALUE % bound);
  let v = randomU32();
  while (v >= limit) v = randomU32();
  return v % bound;
}

/** A uniform float in [0, 1) with 53 random bits. */
export function randomFloat(): f64 {
  return <f64>(randomU64() >> 11) * 1.1102230246251565e-16; // 2^-53
}

/** `bytes` random bytes as lower-case hex (2 characters per byte). */
export function randomHex(bytes: i32 = 16): string {
  return hexEncode(randomBytes(bytes));
}

/** `bytes` random bytes as unpadded base64url: 16 bytes (128 bits) give a 22-character id. */
export function randomId(bytes: i32 = 16): string {
  return base64Encode(randomBytes(bytes).buffer, true);
}

/** A random (version 4, RFC 9562) UUID: "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", lower case. */
export function uuid4(): string {
  const b = randomBytes(16);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = hexEncode(b);
  return (
    h.substring(0, 8) +
    '-' +
    h.substring(8, 12) +
    '-' +
    h.substring(12, 16) +
    '-' +
    h.substring(16, 20) +
    '-' +
    h.substring(20)
  );
}
