// Installs manifests into a cluster with server-side apply, and CRDs until the API server serves them.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ApiextensionsV1Api,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from './go-tools.ts';

/** Every YAML document in the given files (or all *.yaml files of the given folders), in order. */
export function readManifests(...paths: string[]): KubernetesObject[] {
  const files = paths.flatMap((p) =>
    p.endsWith('.yaml') || p.endsWith('.yml')
      ? [p]
      : readdirSync(p)
          .filter((f) => /\.ya?ml$/.test(f))
          .sort()
          .map((f) => path.join(p, f)),
  );
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(file, 'utf8'))
      .map((doc) => {
        if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
        return doc.toJS() as KubernetesObject | null;
      })
      .filter((obj): obj is KubernetesObject => obj?.kind !== undefined),
  );
}

/** Server-side applies each object (creating or updating it) as field manager `manager`, in order. */
export async function applyManifests(kc: KubeConfig, objects: KubernetesObject[], manager = 'legate-test') {
  const client = KubernetesObjectApi.makeApiClient(kc);
  for (const obj of objects) {
    // client-node serialises known kinds through its typed models, which read camelCase property
    // names: a raw `x-kubernetes-validations` (CEL rules, int-or-string, preserve-unknown-fields)
    // would be dropped without a word. Loading through loadYaml maps the names first.
    const typed = loadYaml<KubernetesObject>(JSON.stringify(obj));
    await client.patch(typed, undefined, undefined, manager, true, PatchStrategy.ServerSideApply);
  }
}

/** Applies CRDs side by side (they do not depend on each other, and each takes the API server a while). */
async function applyCrdsConcurrently(kc: KubeConfig, objects: KubernetesObject[]) {
  const isCrd = (o: KubernetesObject) => o.kind === 'CustomResourceDefinition';
  await Promise.all(objects.filter(isCrd).map((crd) => applyManifests(kc, [crd])));
  await applyManifests(
    kc,
    objects.filter((o) => !isCrd(o)),
  );
}

/** The CRD manifests of Legate itself (crds/*.yaml). */
export function legateCrdFiles(): string[] {
  const dir = path.join(repoRoot, 'crds');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Applies the CRDs in `files` and waits until each is Established, so its kind can be used at once. */
export async function installCrds(kc: KubeConfig, files: string[]): Promise<void> {
  const objects = readManifests(...files);
  await applyCrdsConcurrently(kc, objects);
  const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata?.name ?? '');
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const deadline = Date.now() + 30_000;
  for (const name of crds) {
    for (;;) {
      const crd = await api.readCustomResourceDefinition({ name });
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} was not Established within 30s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
