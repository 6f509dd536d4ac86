// The operator's cache of watched objects, one map per kind, keyed "<namespace>/<name>" (or "<name>"
// for cluster-scoped kinds). The Kubernetes watches write to it; the infra controller, and later the
// translator and the xDS server, read it and subscribe to changes, so each watch runs once per process.

import type { KubernetesObject } from '@kubernetes/client-node';

export type ChangeType = 'upsert' | 'delete';

export interface StoreChange {
  kind: string;
  type: ChangeType;
  key: string;
  object: KubernetesObject;
  /** For an upsert: the object it replaced, if any. */
  previous?: KubernetesObject;
}

export type StoreListener = (change: StoreChange) => void;

export function objectKey(obj: { metadata?: { name?: string; namespace?: string } }): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata?.name}` : (obj.metadata?.name as string);
}

const lastApplied = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * What the cache keeps of an object: without `managedFields` and kubectl's last-applied copy, which
 * nothing here reads and which are often larger than the rest of the object (controller-runtime
 * caches strip managedFields for the same reason).
 */
export function cacheable(obj: KubernetesObject): KubernetesObject {
  const md = obj.metadata;
  if (!md || (md.managedFields === undefined && md.annotations?.[lastApplied] === undefined)) return obj;
  const { managedFields: _fields, ...metadata } = md;
  if (metadata.annotations?.[lastApplied] !== undefined) {
    const { [lastApplied]: _applied, ...annotations } = metadata.annotations;
    metadata.annotations = annotations;
  }
  return { ...obj, metadata };
}

export class ObjectStore {
  readonly #byKind = new Map<string, Map<string, KubernetesObject>>();
  readonly #listeners = new Set<StoreListener>();
  readonly #synced = new Set<string>();

  /** Adds or replaces; an older resourceVersion replayed by a restarted watch is still applied (level-triggered). */
  upsert(kind: string, given: KubernetesObject): void {
    const obj = cacheable(given);
    const key = objectKey(obj);
    const objects = this.#kind(kind);
    const previous = objects.get(key);
    objects.set(key, obj);
    this.#emit({ kind, type: 'upsert', key, object: obj, previous });
  }

  delete(kind: string, obj: KubernetesObject): void {
    const key = objectKey(obj);
    this.#kind(kind).delete(key);
    this.#emit({ kind, type: 'delete', key, object: obj });
  }

  /** Replaces everything of a kind with a fresh list (the initial sync), emitting deletes for what vanished. */
  replace(kind: string, objects: readonly KubernetesObject[]): void {
    const fresh = new Set(objects.map(objectKey));
    for (const [key, obj] of this.#kind(kind)) {
      if (!fresh.has(key)) this.delete(kind, obj);
    }
    for (const obj of objects) this.upsert(kind, obj);
    this.#synced.add(kind);
  }

  get<T = KubernetesObject>(kind: string, key: string): T | undefined {
    return this.#byKind.get(kind)?.get(key) as T | undefined;
  }

  list<T = KubernetesObject>(kind: string): T[] {
    return [...(this.#byKind.get(kind)?.values() ?? [])] as T[];
  }

  /** True once every given kind has had its initial list. */
  synced(...kinds: string[]): boolean {
    return kinds.every((k) => this.#synced.has(k));
  }

  subscribe(listener: StoreListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #kind(kind: string): Map<string, KubernetesObject> {
    let map = this.#byKind.get(kind);
    if (!map) {
      map = new Map();
      this.#byKind.set(kind, map);
    }
    return map;
  }

  #emit(change: StoreChange): void {
    for (const listener of this.#listeners) listener(change);
  }
}
