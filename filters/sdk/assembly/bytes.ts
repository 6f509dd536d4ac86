// Byte helpers shared by the crypto code.

/** Equal length and content, in time independent of where the first difference is. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): bool {
  if (a.length != b.length) return false;
  let diff: u32 = 0;
  const pa = a.dataStart;
  const pb = b.dataStart;
  for (let i = 0; i < a.length; i++) diff |= <u32>(load<u8>(pa + <usize>i) ^ load<u8>(pb + <usize>i));
  return diff == 0;
}

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  memory.copy(out.dataStart, a.dataStart, <usize>a.length);
  memory.copy(out.dataStart + <usize>a.length, b.dataStart, <usize>b.length);
  return out;
}

/** The ASCII/UTF-8 bytes of `s[start, end)`. JWT segments are ASCII, so this is exact for them. */
export function utf8(s: string, start: i32 = 0, end: i32 = i32.MAX_VALUE): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s.substring(start, end)));
}

/** Lower-case hex, written straight into one new string (no per-byte concatenation). */
export function toHex(b: Uint8Array): string {
  const out = changetype<string>(__new((<usize>b.length) << 2, idof<string>()));
  const p = changetype<usize>(out);
  for (let i = 0; i < b.length; i++) {
    const v = <u32>b[i];
    const hi = v >> 4;
    const lo = v & 15;
    store<u16>(p + ((<usize>i) << 2), <u16>(hi < 10 ? 48 + hi : 87 + hi));
    store<u16>(p + ((<usize>i) << 2) + 2, <u16>(lo < 10 ? 48 + lo : 87 + lo));
  }
  return out;
}
