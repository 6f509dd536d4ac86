// What the xDS server serves: encoded Envoy resources grouped by type URL. The cache takes bytes, not
// message objects, so it never depends on how the translator builds them, and a resource's identity
// for "did it change?" is simply the hash of its bytes.

import { createHash } from 'node:crypto';
import { TypeUrls } from '../envoy/protos.ts';

/** One encoded resource. The translator's `{ name, resource, bytes }` fits (extra fields are ignored). */
export interface EncodedResource {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** A Gateway's full desired state: every resource it has, per type URL. A missing type means none. */
export type ResourcesByTypeUrl =
  | ReadonlyMap<string, readonly EncodedResource[]>
  | Readonly<Partial<Record<string, readonly EncodedResource[]>>>;

/** The type URLs the server serves, in the order a change is pushed (Envoy's warming order). */
export const pushOrder: readonly string[] = [
  TypeUrls.secret,
  TypeUrls.extensionConfig,
  TypeUrls.cluster,
  TypeUrls.endpoint,
  TypeUrls.listener,
  TypeUrls.route,
];

export const servedTypeUrls: ReadonlySet<string> = new Set(pushOrder);

/**
 * Types whose SotW response must list every resource (absence = deletion) and for which an empty
 * first subscription means "everything" (legacy wildcard). For the others, SotW responses carry
 * only what changed and absence means nothing.
 */
export const fullStateTypeUrls: ReadonlySet<string> = new Set([TypeUrls.listener, TypeUrls.cluster]);

/** Short content hash: a resource's version in Delta xDS and its "did it change?" key. */
export function contentHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64url').slice(0, 16);
}

export function entriesOf(resources: ResourcesByTypeUrl): [string, readonly EncodedResource[]][] {
  const entries: [string, readonly EncodedResource[] | undefined][] =
    resources instanceof Map ? [...resources.entries()] : Object.entries(resources);
  return entries.filter((entry): entry is [string, readonly EncodedResource[]] => entry[1] !== undefined);
}

/** A stored resource: its bytes and their hash. */
export interface StoredResource {
  readonly bytes: Uint8Array;
  readonly hash: string;
}

/**
 * A version for a set of resources that depends only on their content, so a restarted operator
 * serving the same config reports the same version (principle 4: never go backwards).
 */
export function setVersion(resources: ReadonlyMap<string, StoredResource>): string {
  const hash = createHash('sha256');
  for (const name of [...resources.keys()].sort()) {
    hash
      .update(name)
      .update('\0')
      .update(resources.get(name)?.hash ?? '')
      .update('\0');
  }
  return hash.digest('base64url').slice(0, 16);
}
