// The per-Gateway snapshot cache: the latest full set of resources for each Gateway, with a
// content-derived version per type. Setting a snapshot computes which types changed and tells the
// listeners (the ADS streams of that Gateway only); unchanged types cost nothing downstream.

import type { GatewayKey } from './identity.ts';
import {
  contentHash,
  entriesOf,
  pushOrder,
  type ResourcesByTypeUrl,
  type StoredResource,
  servedTypeUrls,
  setVersion,
} from './resources.ts';

export interface TypeSnapshot {
  readonly resources: ReadonlyMap<string, StoredResource>;
  readonly version: string;
  /** When the change that produced this version was seen (performance.now() ms), for push latency. */
  readonly changedAt: number;
}

export type GatewaySnapshot = ReadonlyMap<string, TypeSnapshot>;

export interface SnapshotChange {
  readonly gateway: GatewayKey;
  /** Types whose content changed, in push order (CDS before EDS, LDS before RDS). */
  readonly typeUrls: readonly string[];
}

export type SnapshotListener = (change: SnapshotChange) => void;

const emptyResources: ReadonlyMap<string, StoredResource> = new Map();
const emptyVersion = setVersion(emptyResources);
const emptyType: TypeSnapshot = { resources: emptyResources, version: emptyVersion, changedAt: 0 };

/** One type's resources, hashed and versioned (`changedAt`: when the change that produced them was seen). */
export function typeSnapshot(
  resources: readonly { name: string; bytes: Uint8Array }[],
  typeUrl: string,
  changedAt: number,
): TypeSnapshot {
  const stored = new Map<string, StoredResource>();
  for (const { name, bytes } of resources) {
    if (stored.has(name)) throw new Error(`duplicate ${typeUrl} resource ${JSON.stringify(name)}`);
    stored.set(name, { bytes, hash: contentHash(bytes) });
  }
  return { resources: stored, version: stored.size === 0 ? emptyVersion : setVersion(stored), changedAt };
}

export class SnapshotCache {
  readonly #snapshots = new Map<GatewayKey, GatewaySnapshot>();
  readonly #listeners = new Set<SnapshotListener>();
  #synced = false;
  readonly #syncedListeners = new Set<() => void>();

  /**
   * Replaces a Gateway's resources. Returns the types whose content changed (empty when nothing
   * did). `seenAt` is when the triggering change was observed (performance.now()), for the push
   * latency metric; it defaults to now.
   */
  set(gateway: GatewayKey, resources: ResourcesByTypeUrl, seenAt: number = performance.now()): SnapshotChange {
    const given = new Map<string, TypeSnapshot>();
    for (const [typeUrl, list] of entriesOf(resources)) {
      if (!servedTypeUrls.has(typeUrl)) throw new Error(`the xDS server does not serve type ${typeUrl}`);
      given.set(typeUrl, typeSnapshot(list, typeUrl, seenAt));
    }
    return this.setTypes(gateway, given, seenAt);
  }

  /**
   * Replaces a Gateway's resources with ready-made type snapshots, such as another cache's: they are
   * shared, not copied or hashed again. A missing type means none.
   */
  setTypes(
    gateway: GatewayKey,
    types: ReadonlyMap<string, TypeSnapshot>,
    seenAt: number = performance.now(),
  ): SnapshotChange {
    const previous = this.#snapshots.get(gateway);
    const next = new Map<string, TypeSnapshot>();
    const changed: string[] = [];
    for (const typeUrl of pushOrder) {
      const given = types.get(typeUrl) ?? emptyType;
      const before = previous?.get(typeUrl);
      if (before && before.version === given.version) {
        next.set(typeUrl, before);
      } else {
        next.set(typeUrl, given.changedAt === seenAt ? given : { ...given, changedAt: seenAt });
        // A Gateway seen for the first time "changes" every type, so open watches get answered.
        changed.push(typeUrl);
      }
    }
    this.#snapshots.set(gateway, next);
    const change = { gateway, typeUrls: changed };
    if (changed.length > 0) for (const listener of this.#listeners) listener(change);
    return change;
  }

  /** The Gateway is gone: its streams get every resource removed (the snapshot becomes empty). */
  remove(gateway: GatewayKey, seenAt?: number): SnapshotChange {
    return this.set(gateway, {}, seenAt);
  }

  get(gateway: GatewayKey): GatewaySnapshot | undefined {
    return this.#snapshots.get(gateway);
  }

  gateways(): IterableIterator<GatewayKey> {
    return this.#snapshots.keys();
  }

  /** True once the operator has loaded every Gateway after its informers synced. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Call once every Gateway's first snapshot is set; until then nothing is served. */
  markSynced(): void {
    if (this.#synced) return;
    this.#synced = true;
    for (const listener of this.#syncedListeners) listener();
  }

  onChange(listener: SnapshotListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  onSynced(listener: () => void): () => void {
    this.#syncedListeners.add(listener);
    return () => this.#syncedListeners.delete(listener);
  }
}
