// Turns the xDS server's ACK/NACK events into a Gateway status condition the operator can write:
// a proxy that rejected config keeps its last good one, and the Gateway says so, with the proxy's
// own error text, until a later version of that type is accepted.

import type { GatewayKey } from './identity.ts';
import { typeLabel } from './metrics.ts';
import type { AckEvent, NackEvent } from './server.ts';

/** Implementation-specific condition type (Gateway API allows domain-prefixed ones). */
export const configAcceptedCondition = 'legate.dev/ConfigAccepted';

export interface ConfigAcceptedCondition {
  readonly type: typeof configAcceptedCondition;
  readonly status: 'True' | 'False';
  readonly reason: 'Accepted' | 'Rejected';
  readonly message: string;
}

/** Longest message kept (Kubernetes limits a condition message to 32 KiB; keep status readable). */
const maxMessage = 1024;

export class NackTracker {
  /** gateway → type URL → the latest rejection not yet superseded by an accepted version. */
  readonly #rejections = new Map<GatewayKey, Map<string, NackEvent>>();
  readonly #seen = new Set<GatewayKey>();
  /** gateway → objects held back by NACK isolation (`<Kind>/<ns>/<name>`, sorted). */
  readonly #held = new Map<GatewayKey, string[]>();

  /** Records what NACK isolation holds back for a Gateway; returns true when that changed. */
  held(gateway: GatewayKey, keys: readonly string[]): boolean {
    const sorted = [...new Set(keys)].sort();
    const before = this.#held.get(gateway) ?? [];
    if (before.length === sorted.length && before.every((k, i) => k === sorted[i])) return false;
    if (sorted.length === 0) this.#held.delete(gateway);
    else this.#held.set(gateway, sorted);
    return true;
  }

  /** Records a NACK; returns true when the Gateway's condition changed. */
  nack(event: NackEvent): boolean {
    this.#seen.add(event.gateway);
    let byType = this.#rejections.get(event.gateway);
    if (!byType) {
      byType = new Map();
      this.#rejections.set(event.gateway, byType);
    }
    const previous = byType.get(event.typeUrl);
    byType.set(event.typeUrl, event);
    return previous?.message !== event.message || previous.version !== event.version;
  }

  /** Records an ACK; returns true when it cleared a rejection. */
  ack(event: AckEvent): boolean {
    this.#seen.add(event.gateway);
    const byType = this.#rejections.get(event.gateway);
    const rejected = byType?.get(event.typeUrl);
    // An ACK of the rejected version itself comes from another replica: the rejection still stands.
    if (!byType || !rejected || rejected.version === event.version) return false;
    byType.delete(event.typeUrl);
    if (byType.size === 0) this.#rejections.delete(event.gateway);
    return true;
  }

  /** The condition for a Gateway, or undefined if none of its proxies has answered yet. */
  condition(gateway: GatewayKey): ConfigAcceptedCondition | undefined {
    if (!this.#seen.has(gateway)) return undefined;
    const rejections = [...(this.#rejections.get(gateway)?.values() ?? [])];
    if (rejections.length === 0) {
      const held = this.#held.get(gateway) ?? [];
      const message =
        held.length === 0
          ? 'Envoy accepted the configuration.'
          : `Envoy accepted the configuration, without what it rejected before (see their status): ${held.join(', ')}.`;
      return {
        type: configAcceptedCondition,
        status: 'True',
        reason: 'Accepted',
        message: message.length > maxMessage ? `${message.slice(0, maxMessage - 1)}…` : message,
      };
    }
    const message = rejections
      .map((r) => `${r.nodeId || 'a proxy'} rejected ${typeLabel(r.typeUrl)} version ${r.version}: ${r.message}`)
      .join('; ');
    return {
      type: configAcceptedCondition,
      status: 'False',
      reason: 'Rejected',
      message: message.length > maxMessage ? `${message.slice(0, maxMessage - 1)}…` : message,
    };
  }

  /** Forget a deleted Gateway. */
  forget(gateway: GatewayKey): void {
    this.#rejections.delete(gateway);
    this.#held.delete(gateway);
    this.#seen.delete(gateway);
  }
}
