// Leader election on a coordination.k8s.io/v1 Lease, following client-go's rules: the holder renews
// every retry period; another replica takes over only after it has seen the same lease record
// unchanged for a whole lease duration on its own clock (so clock skew between nodes does not
// matter); a leader that cannot renew within the renew deadline stops leading; a leader that shuts
// down cleanly releases the lease so a standby takes over at its next retry.

import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { isNotFound } from '../infra/kube-apply.ts';
import type { Logger } from './log.ts';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  onStartedLeading: () => void;
  /** Called once when leadership is lost (not on release()); the usual reaction is to exit. */
  onStoppedLeading: () => void;
  log: Logger;
}

export const defaultLeaseTiming = { leaseDurationSeconds: 10, renewDeadlineMs: 8000, retryPeriodMs: 2000 } as const;

/** The API server wants MicroTime with exactly six fractional digits. */
function microTime(date: Date): Date {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
}

export class LeaderElector {
  readonly #api: CoordinationV1Api;
  readonly #o: LeaderElectionOptions;
  #leading = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #lastRenew = 0;
  #observed: { record: string; at: number } | undefined;

  constructor(kc: KubeConfig, options: LeaderElectionOptions) {
    this.#api = kc.makeApiClient(CoordinationV1Api);
    this.#o = options;
  }

  get leading(): boolean {
    return this.#leading;
  }

  start(): void {
    void this.#tick();
  }

  /** Stops electing; a leader hands the Lease back so a standby need not wait for it to expire. */
  async release(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    if (!this.#leading) return;
    this.#leading = false;
    // A renewal already in flight can change the Lease between our read and write: retry on conflict.
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const lease = await this.#api.readNamespacedLease({ name: this.#o.name, namespace: this.#o.namespace });
        if (lease.spec?.holderIdentity !== this.#o.identity) return;
        lease.spec = {
          ...lease.spec,
          holderIdentity: undefined,
          leaseDurationSeconds: 1,
          renewTime: microTime(new Date()),
        };
        await this.#api.replaceNamespacedLease({ name: this.#o.name, namespace: this.#o.namespace, body: lease });
        this.#o.log.info('released leader lease', { lease: this.#o.name });
        return;
      } catch (err) {
        if (attempt === 3 || (err as { code?: number }).code !== 409) {
          this.#o.log.warn('could not release leader lease', { err });
          return;
        }
      }
    }
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    try {
      await this.#tryAcquireOrRenew();
    } catch (err) {
      this.#o.log.debug('leader election attempt failed', { err: (err as Error).message });
    }
    if (this.#leading && Date.now() - this.#lastRenew > this.#o.renewDeadlineMs) {
      this.#leading = false;
      this.#o.log.error('lost leader lease: could not renew within the deadline', { lease: this.#o.name });
      this.#o.onStoppedLeading();
    }
    if (!this.#stopped) this.#timer = setTimeout(() => void this.#tick(), this.#o.retryPeriodMs);
  }

  async #tryAcquireOrRenew(): Promise<void> {
    const { name, namespace, identity, leaseDurationSeconds } = this.#o;
    const now = new Date();
    let lease: V1Lease;
    try {
      lease = await this.#api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.#api.createNamespacedLease({
        namespace,
        body: {
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        },
      });
      this.#becomeLeader();
      return;
    }
    const spec = lease.spec ?? {};
    const record = `${spec.holderIdentity ?? ''}|${String(spec.renewTime)}|${lease.metadata?.resourceVersion}`;
    if (this.#observed?.record !== record) this.#observed = { record, at: Date.now() };
    const held = spec.holderIdentity && spec.holderIdentity !== identity;
    const duration = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (held && this.#observed.at + duration > Date.now()) {
      if (this.#leading) {
        this.#leading = false;
        this.#o.onStoppedLeading();
      }
      return;
    }
    const mine = spec.holderIdentity === identity;
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds,
      renewTime: microTime(now),
      ...(mine ? {} : { acquireTime: microTime(now), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
    };
    if (this.#stopped) return; // released meanwhile: do not take the Lease back
    // replace carries resourceVersion: if another replica wrote first, this fails with a conflict.
    await this.#api.replaceNamespacedLease({ name, namespace, body: lease });
    this.#becomeLeader();
  }

  #becomeLeader(): void {
    this.#lastRenew = Date.now();
    if (this.#leading) return;
    this.#leading = true;
    this.#o.log.info('became leader', { lease: this.#o.name, identity: this.#o.identity });
    this.#o.onStartedLeading();
  }
}
