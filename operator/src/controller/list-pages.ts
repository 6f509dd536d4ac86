// Lists one kind in pages, as client-go's reflector does: the API server never builds one huge
// response, and each page is trimmed for the cache before the next arrives, so a (re-)list of tens of
// thousands of objects leaves no large peak behind in the heap.

import type { KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { cacheable } from './store.ts';

/** client-go's reflector default. */
export const defaultListPageSize = 500;

/**
 * Every object of a kind (in `namespace`, or everywhere when undefined), trimmed by `cacheable`.
 * A continue token that expires between pages fails with 410; the caller starts over.
 */
export async function listPages(
  objects: KubernetesObjectApi,
  kind: { apiVersion: string; kind: string },
  namespace: string | undefined,
  pageSize = defaultListPageSize,
): Promise<KubernetesObject[]> {
  const items: KubernetesObject[] = [];
  let continueToken: string | undefined;
  do {
    const page = await objects.list(
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
    for (const item of page.items) items.push(cacheable(item));
    continueToken = page.metadata?._continue || undefined;
  } while (continueToken);
  return items;
}
