// NACK isolation: when a Gateway's Envoy rejects a version of a resource type, find the objects that
// changed since the last version it accepted, and hold them back, so that the rest of the Gateway
// keeps getting its changes. Envoy keeps its last good config and refuses every later version that
// still carries the bad part: without isolation one bad route freezes the whole Gateway.
//
// Pure bookkeeping, no I/O. The xDS sync tells it, per Gateway and type, what each version it set was
// built from (`sent`): every resource's content hash and its contributors (the objects it was
// translated from, each with a fingerprint of its translated form such as its generation, and the
// object itself). Envoy's ACKs and NACKs come in through `ack` and `nack`. A NACK compares the
// rejected version with the last accepted one: the resources whose hash changed, and in them the
// contributors whose fingerprint changed (or that are new), are the suspects.
//
// - One suspect: it is the culprit. It is held (`guilty`) until it changes again (a new fingerprint):
//   the sync translates it in its last accepted form (`pinned`), or leaves it out if Envoy never
//   accepted it. If it is still bad, the next NACK holds it again.
// - Several suspects (several objects changed in one version, or no version was accepted yet, as after
//   an operator restart): all are held, then bisected. Each ACK releases half of the unproven ones;
//   when a released half is NACKed, the next NACK's suspects are exactly that half. So the culprits
//   are found in about log2(n) round trips, and the innocent ones go out meanwhile.
// - No suspect (the change came from something not tracked, such as the Gateway itself): nothing is
//   held; the Gateway's ConfigAccepted condition still carries Envoy's message.

import type { GatewayKey } from './identity.ts';

/** An object a resource was built from. */
export interface Contributor {
  /** `<Kind>/<namespace>/<name>` (or another stable id). */
  readonly key: string;
  /** Changes when the object's translated form may change (for a route: its generation). */
  readonly fingerprint: string;
  /** The object itself, so that a held object can be translated in its last accepted form. */
  readonly object?: unknown;
}

/** One resource as set in the snapshot. */
export interface SentResource {
  readonly hash: string;
  readonly contributors: readonly Contributor[];
}

/** A version of one type: resource name → what it was built from. */
export type SentVersion = ReadonlyMap<string, SentResource>;

export interface Held {
  readonly key: string;
  /** The fingerprint Envoy rejected (or that is under suspicion). */
  readonly fingerprint: string;
  /** Its last form Envoy accepted; undefined when Envoy never accepted it (it is left out). */
  readonly pinned: Contributor | undefined;
  /** True once it alone was in a rejected change; false while it is one of several suspects. */
  readonly guilty: boolean;
  readonly typeUrl: string;
  readonly version: string;
  readonly nodeId: string;
  /** Envoy's error text. */
  readonly message: string;
  /** How many objects were suspected together (1 when guilty). */
  readonly suspects: number;
  /** Suspects held by one NACK share a group; bisection splits the newest group first. */
  readonly group: number;
}

export interface NackInput {
  readonly gateway: GatewayKey;
  readonly typeUrl: string;
  readonly version: string;
  readonly nodeId: string;
  readonly message: string;
}

/** Versions remembered per type (a NACK names one sent a moment ago, at most a few versions back). */
const keptVersions = 8;

interface GatewayState {
  readonly sent: Map<string, Map<string, SentVersion>>;
  readonly accepted: Map<string, SentVersion>;
  readonly held: Map<string, Held>;
  /** type URL → rejected version → the NACK (a version built again is rejected again, unsent). */
  readonly rejected: Map<string, Map<string, NackInput>>;
}

export class Quarantine {
  readonly #gateways = new Map<GatewayKey, GatewayState>();
  #groups = 0;
  /** Type URLs whose held objects are bisected (those the sync can pin or leave out). */
  readonly #bisect: ReadonlySet<string>;

  constructor(options: { bisect?: readonly string[] } = {}) {
    this.#bisect = new Set(options.bisect ?? []);
  }

  /**
   * Records what a version of a type was built from. A version that was rejected before (the same
   * content built again, say after the held object changed in a way that translates the same) is
   * never sent again by the streams, so its NACK is applied again here: returns what that holds.
   */
  sent(gateway: GatewayKey, typeUrl: string, version: string, resources: SentVersion): Held[] {
    const state = this.#state(gateway);
    let versions = state.sent.get(typeUrl);
    if (!versions) {
      versions = new Map();
      state.sent.set(typeUrl, versions);
    }
    versions.delete(version);
    versions.set(version, resources);
    while (versions.size > keptVersions) versions.delete(versions.keys().next().value as string);
    const before = state.rejected.get(typeUrl)?.get(version);
    return before ? this.nack(before) : [];
  }

  /** The version of a type last recorded for a Gateway (to skip recording an unchanged type). */
  lastSent(gateway: GatewayKey, typeUrl: string): string | undefined {
    const versions = this.#gateways.get(gateway)?.sent.get(typeUrl);
    let last: string | undefined;
    for (const v of versions?.keys() ?? []) last = v;
    return last;
  }

  /**
   * A proxy accepted a version. Returns true when held suspects were released (the caller translates
   * the Gateway again, so they go out).
   */
  ack(gateway: GatewayKey, typeUrl: string, version: string): boolean {
    const state = this.#gateways.get(gateway);
    const accepted = state?.sent.get(typeUrl)?.get(version);
    if (!state || !accepted) return false;
    // Another replica ACKing the same version proves nothing new.
    if (state.accepted.get(typeUrl) === accepted) return false;
    state.accepted.set(typeUrl, accepted);
    // Bisection: an accepted version means every object in it is fine; release half of the newest
    // group of suspects (the smallest), to find out whether the culprit is in that half.
    const suspects = [...state.held.values()].filter((h) => !h.guilty && h.typeUrl === typeUrl);
    if (suspects.length === 0) return false;
    const newest = Math.max(...suspects.map((h) => h.group));
    const group = suspects
      .filter((h) => h.group === newest)
      .map((h) => h.key)
      .sort();
    for (const key of group.slice(0, Math.ceil(group.length / 2))) state.held.delete(key);
    return true;
  }

  /** A proxy rejected a version: holds the suspects. Returns those newly held (empty: nothing to isolate). */
  nack(event: NackInput): Held[] {
    const state = this.#gateways.get(event.gateway);
    const rejected = state?.sent.get(event.typeUrl)?.get(event.version);
    if (!state || !rejected) return [];
    const accepted = state.accepted.get(event.typeUrl) ?? this.#assumedRunning(state, event) ?? new Map();
    const acceptedForm = new Map<string, Contributor>();
    for (const resource of accepted.values()) for (const c of resource.contributors) acceptedForm.set(c.key, c);
    const suspects = new Map<string, Contributor>();
    for (const [name, resource] of rejected) {
      if (accepted.get(name)?.hash === resource.hash) continue;
      for (const c of resource.contributors) {
        if (acceptedForm.get(c.key)?.fingerprint === c.fingerprint) continue;
        suspects.set(c.key, c);
      }
    }
    let rejectedVersions = state.rejected.get(event.typeUrl);
    if (!rejectedVersions) {
      rejectedVersions = new Map();
      state.rejected.set(event.typeUrl, rejectedVersions);
    }
    rejectedVersions.delete(event.version);
    rejectedVersions.set(event.version, event);
    while (rejectedVersions.size > keptVersions)
      rejectedVersions.delete(rejectedVersions.keys().next().value as string);
    const bisect = this.#bisect.has(event.typeUrl);
    const group = ++this.#groups;
    const out: Held[] = [];
    for (const c of suspects.values()) {
      const before = state.held.get(c.key);
      const guilty = suspects.size === 1 || !bisect;
      if (before && before.fingerprint === c.fingerprint && before.guilty === guilty) continue;
      const held: Held = {
        key: c.key,
        fingerprint: c.fingerprint,
        pinned: acceptedForm.get(c.key),
        guilty,
        typeUrl: event.typeUrl,
        version: event.version,
        nodeId: event.nodeId,
        message: event.message,
        suspects: suspects.size,
        group,
      };
      state.held.set(c.key, held);
      out.push(held);
    }
    return out;
  }

  /**
   * What is held for a Gateway now. `unchanged` says whether a held object is still in the form that
   * was held; one that changed since (or was deleted) is released, so its new form gets its chance.
   */
  held(gateway: GatewayKey, unchanged: (h: Held) => boolean): Held[] {
    const state = this.#gateways.get(gateway);
    if (!state || state.held.size === 0) return [];
    const out: Held[] = [];
    for (const [key, h] of state.held) {
      if (!unchanged(h)) state.held.delete(key);
      else out.push(h);
    }
    return out;
  }

  /** Gateways that hold something (for status and tests). */
  gatewaysHolding(): GatewayKey[] {
    return [...this.#gateways].filter(([, s]) => s.held.size > 0).map(([g]) => g);
  }

  /** The Gateway is gone. */
  forget(gateway: GatewayKey): void {
    this.#gateways.delete(gateway);
  }

  /**
   * With no accepted version known (a restarted operator: Envoy resumed with what it had, so nothing
   * was sent and nothing ACKed), the version recorded just before the rejected one, unless rejected
   * too: a proxy that had it rejected nothing, and it is what Envoy runs. Without this, every object
   * would be a suspect, and bisecting would take innocent routes out of Envoy for a moment.
   */
  #assumedRunning(state: GatewayState, event: NackInput): SentVersion | undefined {
    const versions = [...(state.sent.get(event.typeUrl)?.keys() ?? [])];
    const at = versions.indexOf(event.version);
    const before = at > 0 ? versions[at - 1] : undefined;
    if (before === undefined || state.rejected.get(event.typeUrl)?.has(before)) return undefined;
    return state.sent.get(event.typeUrl)?.get(before);
  }

  /**
   * Holds an object again after an operator restart, from the status the previous process wrote
   * (Envoy rejected this generation): it is left out, so that Envoy's NACK of it does not make every
   * object a suspect. It leaves quarantine when it changes, like any held object.
   */
  restore(
    gateway: GatewayKey,
    held: { key: string; fingerprint: string; typeUrl: string; nodeId: string; message: string },
  ): void {
    const state = this.#state(gateway);
    if (state.held.has(held.key)) return;
    state.held.set(held.key, {
      ...held,
      pinned: undefined,
      guilty: true,
      version: '',
      suspects: 1,
      group: 0,
    });
  }

  #state(gateway: GatewayKey): GatewayState {
    let state = this.#gateways.get(gateway);
    if (!state) {
      state = { sent: new Map(), accepted: new Map(), held: new Map(), rejected: new Map() };
      this.#gateways.set(gateway, state);
    }
    return state;
  }
}
