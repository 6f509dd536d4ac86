// Reads a module's bytes from where its WasmFilter says they are: a ConfigMap's binaryData key or an
// HTTPS URL. Every failure becomes a ModuleProblem whose message names the source; nothing throws.

import https from 'node:https';
import { formatBytes, type ModuleProblem } from './module-check.ts';
import type { ModuleSource } from './types.ts';

/** The slice of a ConfigMap the reader needs (client-node's V1ConfigMap fits). */
export interface ConfigMapLike {
  binaryData?: Record<string, string>;
  data?: Record<string, string>;
}

export interface SourceOptions {
  /** Reads a ConfigMap from the operator's informer cache or the API; undefined when it does not exist. */
  readConfigMap(namespace: string, name: string): Promise<ConfigMapLike | undefined>;
  maxBytes: number;
  /** Per download (default 30 s). */
  timeoutMs?: number;
  /** Extra trusted CAs (PEM) for HTTPS sources, e.g. an internal artifact server; the system CAs otherwise. */
  ca?: string;
}

export type FetchResult = { ok: true; bytes: Uint8Array } | { ok: false; problem: ModuleProblem };

const failure = (reason: ModuleProblem['reason'], message: string, transient: boolean): FetchResult => ({
  ok: false,
  problem: { reason, message, transient },
});

/** A short human name for the source, for messages and logs. */
export function describeSource(source: ModuleSource): string {
  return source.type === 'ConfigMap' ? `ConfigMap ${source.namespace}/${source.name} key ${source.key}` : source.url;
}

export async function fetchModule(source: ModuleSource, options: SourceOptions): Promise<FetchResult> {
  return source.type === 'ConfigMap' ? fromConfigMap(source, options) : fromHttps(source.url, options);
}

async function fromConfigMap(source: Extract<ModuleSource, { type: 'ConfigMap' }>, options: SourceOptions) {
  const where = describeSource(source);
  let cm: ConfigMapLike | undefined;
  try {
    cm = await options.readConfigMap(source.namespace, source.name);
  } catch (e) {
    return failure('SourceUnreachable', `source unreachable: reading ${where}: ${(e as Error).message}`, true);
  }
  // A missing ConfigMap or key is usually a push in progress: retry, it recovers by itself.
  if (!cm)
    return failure(
      'SourceUnreachable',
      `source unreachable: ConfigMap ${source.namespace}/${source.name} not found`,
      true,
    );
  const encoded = cm.binaryData?.[source.key];
  if (encoded === undefined) {
    const inData = cm.data?.[source.key] !== undefined;
    return inData
      ? failure(
          'SourceInvalid',
          `${where} is under data, not binaryData: a module is binary, store it under binaryData`,
          false,
        )
      : failure(
          'SourceUnreachable',
          `source unreachable: ${where} not found (binaryData has ${Object.keys(cm.binaryData ?? {}).join(', ') || 'no keys'})`,
          true,
        );
  }
  const bytes = new Uint8Array(Buffer.from(encoded, 'base64'));
  return { ok: true, bytes } as const;
}

function fromHttps(url: string, options: SourceOptions): Promise<FetchResult> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return Promise.resolve(failure('SourceInvalid', `${url} is not a valid URL`, false));
  }
  if (parsed.protocol !== 'https:')
    return Promise.resolve(failure('SourceInvalid', `${url} is not an https:// URL`, false));
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve) => {
    const done = (r: FetchResult) => {
      req.destroy();
      resolve(r);
    };
    // node:https rather than fetch(): it takes a per-request CA, and there is no redirect to follow
    // silently to a plain-http host (a redirect is reported instead).
    const req = https.get(parsed, { ca: options.ca ? [options.ca] : undefined, timeout: timeoutMs }, (res) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        res.resume();
        const location = res.headers.location ? ` to ${res.headers.location}` : '';
        // 4xx other than 404/429 will not fix itself; 404 may (an upload in progress), 5xx too.
        const transient = status === 404 || status === 429 || status >= 500;
        done(
          failure('SourceUnreachable', `source unreachable: GET ${url} answered HTTP ${status}${location}`, transient),
        );
        return;
      }
      const declared = Number(res.headers['content-length'] ?? Number.NaN);
      if (declared > options.maxBytes) {
        done(
          failure(
            'TooLarge',
            `module is ${formatBytes(declared)} (${declared} bytes), over the ${formatBytes(options.maxBytes)} limit`,
            false,
          ),
        );
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBytes) {
          done(
            failure(
              'TooLarge',
              `module is over the ${formatBytes(options.maxBytes)} limit (download stopped at ${size} bytes)`,
              false,
            ),
          );
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => done({ ok: true, bytes: new Uint8Array(Buffer.concat(chunks)) }));
      res.on('error', (e) => done(failure('SourceUnreachable', `source unreachable: GET ${url}: ${e.message}`, true)));
    });
    req.on('timeout', () =>
      done(failure('SourceUnreachable', `source unreachable: GET ${url} timed out after ${timeoutMs / 1000}s`, true)),
    );
    req.on('error', (e) => done(failure('SourceUnreachable', `source unreachable: GET ${url}: ${e.message}`, true)));
  });
}
