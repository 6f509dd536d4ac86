// Envoy's own rules for what the translator puts into a RouteConfiguration, checked before sending:
// a rule that breaks one is dropped with a precise reason instead of making Envoy reject the whole
// RouteConfiguration (and with it every other route of the Gateway).
//
// Regular expressions: Envoy compiles `safe_regex` with Google RE2, which refuses much that
// JavaScript's RegExp accepts (lookaround, backreferences, possessive quantifiers, `\Z`...). We parse
// with re2js (npm `re2js`), a maintained pure-JavaScript port of RE2/J, which follows RE2's syntax. It
// was chosen over `re2-wasm` (Google's C++ RE2 as wasm, but a 2021 build without newer syntax such as
// `(?<name>...)` and with no program size) and `re2` (a native addon: needs a compiler and node-gyp,
// and its prebuilt binaries come from outside the npm registry). re2js refuses `\C` (any byte), which
// C++ RE2 accepts; refusing it is harmless.
//
// Program size: Envoy 1.40 refuses a regex whose compiled RE2 program is larger than the runtime key
// `re2.max_program_size.error_level` (default 100; Legate's bootstrap keeps the default). C++ RE2
// counts byte-level instructions, re2js rune-level ones, so re2js's count is only an estimate, off in
// both directions. Measured against Envoy 1.40 (`envoy --mode validate`, error level 0 to print the
// size): `/api/v[0-9]+/users/[^/]+` 22 (re2js 19), `.{30}` 64 (32), `[^/]{25}` 54 (27), `\pL{12}` 112
// (50), `x{101}` 105 (103), and a 7-way literal alternation 100 (111: re2js over). So only an estimate
// clearly over the limit (more than 25% over) is refused here, never one Envoy would take; what Envoy
// still refuses comes back as a NACK, which the xDS side isolates with Envoy's exact figure in the
// route's status (see docs/xds.md).
//
// Headers (envoy/config/core/v3/base.proto, route_components.proto, router/header_parser.cc): names
// and values are `well_known_regex: HTTP_HEADER_NAME / HTTP_HEADER_VALUE, strict: false` (no NUL, CR
// or LF), at most 16 KiB; names must not be empty; a `:`-prefixed name or `host` may be neither
// added, set nor removed (":-prefixed or host headers may not be modified").

import { RE2JS } from 're2js';

/** Envoy's default `re2.max_program_size.error_level`. */
export const RE2_MAX_PROGRAM_SIZE = 100;
/** re2js's estimate above which a regex is surely over Envoy's limit (see above). */
export const RE2_REFUSED_ESTIMATE = 125;
/** `max_bytes` of HeaderValue.key and .value. */
export const HEADER_MAX_BYTES = 16_384;
/** `max_bytes` of QueryParameterMatcher.name. */
export const QUERY_NAME_MAX_BYTES = 1_024;

const NUL_CR_LF = /[\0\r\n]/;

function bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Why RE2 (as Envoy runs it) refuses `regex`, or undefined when it compiles within the size limit. */
export function re2Problem(regex: string): string | undefined {
  if (regex.length === 0) return 'is empty (Envoy needs at least one character)';
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(regex);
  } catch (e) {
    const why = (e as Error).message.replace(/^error parsing regexp: /, '');
    return `is not valid RE2 syntax (Envoy uses RE2, which has no lookaround or backreferences): ${why}`;
  }
  const size = compiled.programSize();
  if (size > RE2_REFUSED_ESTIMATE) {
    return `is too complex: its RE2 program size is about ${size}, over Envoy's limit of ${RE2_MAX_PROGRAM_SIZE}`;
  }
  return undefined;
}

/** Why Envoy refuses `name` as a header name (matcher or modifier), or undefined. */
export function headerNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (NUL_CR_LF.test(name)) return 'contains NUL, CR or LF';
  if (bytes(name) > HEADER_MAX_BYTES) return `is longer than ${HEADER_MAX_BYTES} bytes`;
  return undefined;
}

/** Why Envoy refuses `value` as a header value (or a host/path it puts into a header), or undefined. */
export function headerValueProblem(value: string): string | undefined {
  if (NUL_CR_LF.test(value)) return 'contains NUL, CR or LF';
  if (bytes(value) > HEADER_MAX_BYTES) return `is longer than ${HEADER_MAX_BYTES} bytes`;
  return undefined;
}

/** Why Envoy refuses to add, set or remove header `name`, or undefined. */
export function modifiedHeaderProblem(name: string, what: 'modified' | 'removed'): string | undefined {
  const basic = headerNameProblem(name);
  if (basic) return basic;
  if (name.startsWith(':') || name.toLowerCase() === 'host') {
    return `may not be ${what}: Envoy refuses to change pseudo-headers and Host${
      what === 'modified' ? ' (use a URLRewrite filter with a hostname to change Host)' : ''
    }`;
  }
  return undefined;
}

/** Why Envoy refuses `name` as a query parameter matcher's name, or undefined. */
export function queryParamNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (bytes(name) > QUERY_NAME_MAX_BYTES) return `is longer than ${QUERY_NAME_MAX_BYTES} bytes`;
  return undefined;
}
