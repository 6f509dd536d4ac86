// Header name and value checks (RFC 9110 §5.1, §5.5): what a filter should run on anything it copies
// from a body, a claim or a query parameter into a header. Envoy refuses (or the codec resets the
// stream on) a header with CR, LF or NUL; a value with CR/LF copied unchecked is header injection.

/** RFC 9110 tchar: ALPHA / DIGIT / "!#$%&'*+-.^_`|~". */
export function isTokenChar(c: i32): bool {
  if (c >= 97 && c <= 122) return true; // a-z
  if (c >= 65 && c <= 90) return true; // A-Z
  if (c >= 48 && c <= 57) return true; // 0-9
  switch (c) {
    case 33: // !
    case 35: // #
    case 36: // $
    case 37: // %
    case 38: // &
    case 39: // '
    case 42: // *
    case 43: // +
    case 45: // -
    case 46: // .
    case 94: // ^
    case 95: // _
    case 96: // `
    case 124: // |
    case 126: // ~
      return true;
  }
  return false;
}

/** A non-empty RFC 9110 token (header names, cookie names, methods). */
export function isToken(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTokenChar(s.charCodeAt(i))) return false;
  return true;
}

/**
 * A header name a filter may set: a token (Envoy stores names lower-cased; HTTP/2 forbids upper
 * case on the wire, Envoy lower-cases for you), or a pseudo-header ":" + token (":path", ":status").
 */
export function isValidHeaderName(name: string): bool {
  if (name.length > 1 && name.charCodeAt(0) == 58) return isToken(name.substring(1));
  return isToken(name);
}

/** True when `value` contains CR, LF or NUL: the characters that split or end a header line. */
export function hasCrLf(value: string): bool {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c == 13 || c == 10 || c == 0) return true;
  }
  return false;
}

/**
 * An RFC 9110 field value: visible ASCII, SP and HTAB inside, and non-ASCII (obs-text, which Envoy
 * passes as UTF-8); no control characters (CR, LF, NUL, DEL, …) and no leading or trailing SP/HTAB.
 * The empty value is valid.
 */
export function isValidHeaderValue(value: string): bool {
  const n = value.length;
  if (n == 0) return true;
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(n - 1);
  if (first == 32 || first == 9 || last == 32 || last == 9) return false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if ((c < 32 && c != 9) || c == 127) return false;
  }
  return true;
}
