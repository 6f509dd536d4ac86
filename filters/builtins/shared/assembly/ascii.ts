// ASCII-only string helpers. String#toLowerCase pulls Unicode case tables (~10 KB) into a module;
// header names, auth schemes and hex digits are ASCII, so these are all the filters need.

/** `s` with A–Z mapped to a–z; other characters unchanged. */
export function asciiLower(s: string): string {
  let upper = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) {
      upper = true;
      break;
    }
  }
  if (!upper) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += String.fromCharCode(c >= 65 && c <= 90 ? c + 32 : c);
  }
  return out;
}

/** Case-insensitive (ASCII) test that `s` starts with `prefix`. */
export function startsWithIgnoreCase(s: string, prefix: string): bool {
  if (s.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    let a = s.charCodeAt(i);
    let b = prefix.charCodeAt(i);
    if (a >= 65 && a <= 90) a += 32;
    if (b >= 65 && b <= 90) b += 32;
    if (a != b) return false;
  }
  return true;
}
