// Thin client-node 2.x helpers: server-side apply (with force, so a hand edit of a field Legate
// manages is put back on the next reconcile), label-selected listing and deletes that tolerate 404.

import {
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';

export function isNotFound(err: unknown): boolean {
  return (err as { code?: number })?.code === 404;
}

export class KubeApply {
  readonly objects: KubernetesObjectApi;
  readonly custom: CustomObjectsApi;
  readonly fieldManager: string;

  constructor(kc: KubeConfig, fieldManager: string) {
    this.objects = KubernetesObjectApi.makeApiClient(kc);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.fieldManager = fieldManager;
  }

  apply<T extends KubernetesObject>(obj: T): Promise<T> {
    return this.objects.patch(obj, undefined, undefined, this.fieldManager, true, PatchStrategy.ServerSideApply);
  }

  /** Server-side apply of a custom resource's status subresource. */
  async applyStatus(
    ref: { group: string; version: string; plural: string; namespace?: string; name: string; kind: string },
    status: unknown,
  ): Promise<void> {
    const body = { apiVersion: `${ref.group}/${ref.version}`, kind: ref.kind, metadata: { name: ref.name }, status };
    const options = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
    const common = { group: ref.group, version: ref.version, plural: ref.plural, name: ref.name, body };
    const params = { ...common, fieldManager: this.fieldManager, force: true };
    if (ref.namespace) {
      await this.custom.patchNamespacedCustomObjectStatus({ ...params, namespace: ref.namespace }, options);
    } else {
      await this.custom.patchClusterCustomObjectStatus(params, options);
    }
  }

  async read<T extends KubernetesObject>(apiVersion: string, kind: string, namespace: string, name: string) {
    try {
      return (await this.objects.read({ apiVersion, kind, metadata: { name, namespace } })) as T;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list(apiVersion: string, kind: string, namespace: string | undefined, labelSelector: string) {
    const res = await this.objects.list(
      apiVersion,
      kind,
      namespace,
      undefined,
      undefined,
      undefined,
      undefined,
      labelSelector,
    );
    return res.items;
  }

  /** Deletes; true when something was deleted, false when it was already gone. */
  async delete(apiVersion: string, kind: string, namespace: string, name: string): Promise<boolean> {
    try {
      await this.objects.delete({ apiVersion, kind, metadata: { name, namespace } });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}
