// Decides whether some bytes are a module Envoy will load as a proxy-wasm 0.2.1 HTTP filter, and if
// not, says exactly why (the WasmFilter's Ready message). Checked here, before anything reaches an
// Envoy: a module Envoy refuses would be NACKed on every proxy of every Gateway that uses it.
//
// The list of host functions Envoy provides is the filter SDK's (filters/host/abi.ts), the same one
// the TypeScript test host enforces, so the operator and the test host can never disagree.

import { createHash } from 'node:crypto';
import { describeUnsupportedImport, unsupportedImports } from '../../../filters/host/abi.ts';

/** The ABI marker export proxy-wasm-cpp-host looks for; its name is the version. */
// The repository's lib (es2024, no DOM) declares no WebAssembly types: the few calls used here.
type WasmDescriptor = { module?: string; name: string; kind: string };
const Wasm = (
  globalThis as unknown as {
    WebAssembly: {
      validate(bytes: Uint8Array): boolean;
      compile(bytes: Uint8Array): Promise<object>;
      Module: {
        exports(m: object): WasmDescriptor[];
        imports(m: object): { module: string; name: string; kind: string }[];
      };
    };
  }
).WebAssembly;

const ABI_MARKER_PREFIX = 'proxy_abi_version_';
export const SUPPORTED_ABI = '0.2.1';
const SUPPORTED_MARKER = `${ABI_MARKER_PREFIX}${SUPPORTED_ABI.replaceAll('.', '_')}`;

/** Exports Envoy needs besides the ABI marker: it allocates guest memory for every host → guest value. */
const REQUIRED_EXPORTS: readonly { name: string; kind: string }[] = [
  { name: 'proxy_on_memory_allocate', kind: 'function' },
  { name: 'memory', kind: 'memory' },
];

export type ModuleProblemReason =
  | 'TooLarge'
  | 'ChecksumMismatch'
  | 'InvalidWasm'
  | 'NotProxyWasm'
  | 'UnsupportedImport'
  | 'SourceUnreachable'
  | 'SourceInvalid';

/** Why a module cannot be used; `message` is written for the person who owns the WasmFilter. */
export interface ModuleProblem {
  reason: ModuleProblemReason;
  message: string;
  /** Worth retrying (network, missing ConfigMap); a bad module stays bad until its source changes. */
  transient: boolean;
}

/** A module that passed every check. Immutable: the cache and the renderer share it. */
export interface VerifiedModule {
  /** Lowercase hex SHA-256 of `bytes`. */
  sha256: string;
  size: number;
  abiVersion: typeof SUPPORTED_ABI;
  bytes: Uint8Array;
}

export type ModuleCheck = { ok: true; module: VerifiedModule } | { ok: false; problem: ModuleProblem };

export interface ModuleExpectations {
  /** The digest the WasmFilter pins (required for HTTPS, optional for ConfigMap). */
  sha256?: string;
  /** What `sha256` was read from, for the message (e.g. `spec.source.https.sha256`). */
  sha256Field?: string;
  maxBytes: number;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(n % (1024 * 1024) === 0 ? 0 : 1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(n % 1024 === 0 ? 0 : 1)} KiB`;
  return `${n} bytes`;
}

const problem = (reason: ModuleProblemReason, message: string): ModuleCheck => ({
  ok: false,
  problem: { reason, message, transient: false },
});

/** What the first bytes look like, for "not WebAssembly" messages (an HTML error page, gzip, text). */
function sniff(bytes: Uint8Array): string {
  const head = Buffer.from(bytes.subarray(0, 16));
  if (bytes.length === 0) return 'it is empty';
  if (head[0] === 0x1f && head[1] === 0x8b) return 'it looks like gzip data: upload the .wasm file itself';
  const text = head.toString('latin1');
  if (/^\s*<(!doctype|html)/i.test(text)) return 'it looks like an HTML page';
  const hex = [...head.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `it starts with bytes ${hex}, not the WebAssembly magic 00 61 73 6d`;
}

function abiMarkers(exports: readonly WasmDescriptor[]): string[] {
  return exports.filter((e) => e.name.startsWith(ABI_MARKER_PREFIX)).map((e) => e.name);
}

/**
 * Runs every check, cheapest first: size, checksum, WebAssembly validity, the ABI marker and the
 * exports Envoy calls, then the imports Envoy must satisfy. The first failing check is reported.
 */
export async function checkModule(bytes: Uint8Array, expect: ModuleExpectations): Promise<ModuleCheck> {
  if (bytes.length > expect.maxBytes) {
    return problem(
      'TooLarge',
      `module is ${formatBytes(bytes.length)} (${bytes.length} bytes), over the ${formatBytes(expect.maxBytes)} limit`,
    );
  }
  const digest = sha256Hex(bytes);
  if (expect.sha256 !== undefined && expect.sha256.toLowerCase() !== digest) {
    const field = expect.sha256Field ? ` (${expect.sha256Field})` : '';
    return problem(
      'ChecksumMismatch',
      `sha256 mismatch: expected ${expect.sha256.toLowerCase()}${field}, got ${digest}`,
    );
  }
  if (!Wasm.validate(bytes)) {
    let detail = sniff(bytes);
    if (bytes[0] === 0x00 && bytes[1] === 0x61) {
      // The magic is right: the compiler's own message locates the fault.
      detail = await Wasm.compile(bytes).then(
        () => 'WebAssembly.validate failed',
        (e: Error) => e.message,
      );
    }
    return problem('InvalidWasm', `not a WebAssembly module: ${detail}`);
  }
  const compiled = await Wasm.compile(bytes);
  const exports = Wasm.Module.exports(compiled);
  const markers = abiMarkers(exports);
  if (!markers.includes(SUPPORTED_MARKER)) {
    const found = markers.length > 0 ? `it exports ${markers.join(', ')}` : 'it exports no proxy_abi_version_* marker';
    return problem('NotProxyWasm', `not a proxy-wasm ${SUPPORTED_ABI} module: ${found} (expected ${SUPPORTED_MARKER})`);
  }
  const missing = REQUIRED_EXPORTS.filter((r) => !exports.some((e) => e.name === r.name && e.kind === r.kind));
  if (missing.length > 0) {
    return problem(
      'NotProxyWasm',
      `not a proxy-wasm ${SUPPORTED_ABI} module: missing export ${missing.map((m) => `${m.name} (${m.kind})`).join(', ')}`,
    );
  }
  const unsupported = unsupportedImports(Wasm.Module.imports(compiled));
  if (unsupported.length > 0) {
    const list = unsupported.map(describeUnsupportedImport).join('; ');
    const what = unsupported.length === 1 ? 'a function' : `${unsupported.length} functions`;
    return problem('UnsupportedImport', `imports ${what} Envoy does not provide: ${list}`);
  }
  return { ok: true, module: { sha256: digest, size: bytes.length, abiVersion: SUPPORTED_ABI, bytes } };
}
