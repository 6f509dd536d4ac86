// Pure helpers that turn request attributes into descriptor values. They narrow a span of UTF-8
// bytes (a value the host returned) in place, so reading a key part allocates nothing.

/** A range of bytes in memory. */
export class Span {
  ptr: usize = 0;
  len: usize = 0;

  set(ptr: usize, len: usize): Span {
    this.ptr = ptr;
    this.len = len;
    return this;
  }

  indexOf(byte: u8, from: usize = 0): isize {
    for (let i = from; i < this.len; i++) if (load<u8>(this.ptr + i) == byte) return <isize>i;
    return -1;
  }

  byteAt(i: usize): u8 {
    return load<u8>(this.ptr + i);
  }
}

const COLON: u8 = 58;
const COMMA: u8 = 44;

/** Narrows "ip:port", "[v6]:port" or a bare address to the address part. */
export function hostOf(s: Span): Span {
  if (s.len > 0 && s.byteAt(0) == 91 /* [ */) {
    const end = s.indexOf(93 /* ] */);
    return end > 0 ? s.set(s.ptr + 1, <usize>end - 1) : s;
  }
  const colon = s.indexOf(COLON);
  // More than one colon: a bare IPv6 address without a port.
  if (colon >= 0 && s.indexOf(COLON, <usize>colon + 1) < 0) s.len = <usize>colon;
  return s;
}

/** String#trim's whitespace among ASCII: tab, LF, VT, FF, CR and space. */
function isAsciiSpace(b: u8): bool {
  return b == 32 || <u32>(b - 9) <= 4;
}

/** What clientFromXff found. */
export const XFF_NONE = 0;
export const XFF_SPAN = 1;
/** The entry starts or ends in non-ASCII bytes: trim it as text (xffClientText), for String#trim's Unicode whitespace. */
export const XFF_TEXT = 2;

/**
 * Narrows an X-Forwarded-For value to the client address when `trustedHops` proxies in front append
 * to it: the `trustedHops`-th entry from the right, trimmed, without its port. XFF_NONE when the
 * header has fewer entries or the entry is empty (then the peer address is used: the request did
 * not come through the trusted proxies).
 */
export function clientFromXff(s: Span, trustedHops: i32): i32 {
  if (trustedHops <= 0) return XFF_NONE;
  let entries: i32 = 1;
  for (let i: usize = 0; i < s.len; i++) if (s.byteAt(i) == COMMA) entries++;
  const index = entries - trustedHops;
  if (index < 0) return XFF_NONE;
  let start: usize = 0;
  for (let e = 0; e < index; e++) start = <usize>s.indexOf(COMMA, start) + 1;
  const comma = s.indexOf(COMMA, start);
  let end = comma < 0 ? s.len : <usize>comma;
  while (start < end && isAsciiSpace(s.byteAt(start))) start++;
  while (end > start && isAsciiSpace(s.byteAt(end - 1))) end--;
  s.set(s.ptr + start, end - start);
  if (s.len == 0) return XFF_NONE;
  if (s.byteAt(0) >= 0x80 || s.byteAt(s.len - 1) >= 0x80) return XFF_TEXT;
  hostOf(s);
  return XFF_SPAN;
}

/** The XFF_TEXT case: the entry trimmed as text, without its port; null when only whitespace. */
export function xffClientText(s: Span): string | null {
  const v = String.UTF8.decodeUnsafe(s.ptr, s.len, false).trim();
  if (v.length == 0) return null;
  const bytes = String.UTF8.encode(v, false);
  const host = hostOf(new Span().set(changetype<usize>(bytes), <usize>bytes.byteLength));
  return String.UTF8.decodeUnsafe(host.ptr, host.len, false);
}

/** Narrows a :path to the part before its query string. */
export function pathOnly(s: Span): Span {
  const q = s.indexOf(63 /* ? */);
  if (q >= 0) s.len = <usize>q;
  return s;
}
