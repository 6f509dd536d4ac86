// Hex (base16) text of bytes and back.
import { toHex } from './bytes';

/** Lower-case hex of `bytes`. */
export function hexEncode(bytes: Uint8Array): string {
  return toHex(bytes);
}

function nibble(c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** The bytes of hex text (either case); null for an odd length or a non-hex character. */
export function hexDecode(text: string): Uint8Array | null {
  const n = text.length;
  if (n & 1) return null;
  const out = new Uint8Array(n >> 1);
  for (let i = 0; i < n; i += 2) {
    const hi = nibble(text.charCodeAt(i));
    const lo = nibble(text.charCodeAt(i + 1));
    if (hi < 0 || lo < 0) return null;
    out[i >> 1] = <u8>((hi << 4) | lo);
  }
  return out;
}
