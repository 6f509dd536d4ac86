// Lists one kind in pages, as client-go's reflector does: the API server never builds one huge
// response, and each page is trimmed for the cache before the next arrives, so a (re-)list of tens of
// thousands of objects leaves no large peak behind in the heap.

import type { CustomObjectsApi, KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { cacheable } from './store.ts';

/** client-go's reflector default. */
export const defaultListPageSize = 500;

export interface ListedKind {
  apiVersion: string;
  kind: string;
  /** The resource's plural name; with it, a kind of a named API group is listed as the API server sends it. */
  plural?: string;
}

/**
 * Every object of a kind (in `namespace`, or everywhere when undefined), trimmed by `cacheable`.
 * A continue token that expires between pages fails with 410; the caller starts over.
 *
 * KubernetesObjectApi.list reads the list of a kind it has no model for (every CRD: Gateway API
 * kinds, Legate's own) with the metadata model of an object, which has no `continue`: such a list
 * silently ended after its first page, so a namespace with more than 500 HTTPRoutes was cached with
 * 500 of them and every re-list removed the rest. Kinds of a named API group whose plural is known
 * are therefore listed through the custom objects API (`customObjects`), which returns the list
 * exactly as the API server sent it.
 */
export async function listPages(
  objects: KubernetesObjectApi,
  kind: ListedKind,
  namespace: string | undefined,
  pageSize = defaultListPageSize,
  customObjects?: CustomObjectsApi,
): Promise<KubernetesObject[]> {
  const slash = kind.apiVersion.indexOf('/');
  const custom =
    customObjects && kind.plural && slash > 0
      ? { api: customObjects, group: kind.apiVersion.slice(0, slash), version: kind.apiVersion.slice(slash + 1) }
      : undefined;
  const page = async (
    continueToken: string | undefined,
  ): Promise<{ items: KubernetesObject[]; continueToken: string | undefined }> => {
    if (custom) {
      const request = {
        group: custom.group,
        version: custom.version,
        plural: kind.plural as string,
        limit: pageSize,
        _continue: continueToken,
      };
      const list = (
        namespace === undefined
          ? await custom.api.listClusterCustomObject(request)
          : await custom.api.listNamespacedCustomObject({ ...request, namespace })
      ) as { items?: KubernetesObject[]; metadata?: { continue?: string } };
      return { items: list.items ?? [], continueToken: list.metadata?.continue || undefined };
    }
    const list = await objects.list(
      kind.apiVersion,
      kind.kind,
      namespace,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      pageSize,
      continueToken,
    );
    return { items: list.items, continueToken: list.metadata?._continue || undefined };
  };
  const items: KubernetesObject[] = [];
  let continueToken: string | undefined;
  do {
    const next = await page(continueToken);
    for (const item of next.items) items.push(cacheable(item));
    continueToken = next.continueToken;
  } while (continueToken);
  return items;
}
