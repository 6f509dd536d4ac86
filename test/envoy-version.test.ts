// What is tested is what is deployed: the Envoy the tests run (the pinned wheel), the image the
// operator deploys by default, and what the chart and the CRD docs say are one version.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { defaultEnvoyImage, EnvoyVersion } from '../operator/src/infra/envoy-version.ts';
import { builtInDefaults } from '../operator/src/infra/proxy-config.ts';
import { envoyWheel } from './harness/envoy.ts';
import { repoRoot } from './harness/go-tools.ts';

it('tests the Envoy version the operator deploys by default', () => {
  assert.equal(envoyWheel.version, EnvoyVersion);
  assert.equal(builtInDefaults.envoy.image, defaultEnvoyImage);
  assert.equal(defaultEnvoyImage, `docker.io/envoyproxy/envoy:v${EnvoyVersion}`);
});

it('names the same Envoy image in the chart, the CRDs and their docs', () => {
  for (const file of [
    'helm/values.yaml',
    'helm/README.md',
    'crds/proxyconfig.yaml',
    'helm/crds/proxyconfig.yaml',
    'docs/crds/proxyconfig.md',
  ]) {
    const text = readFileSync(path.join(repoRoot, file), 'utf8');
    const images = [...text.matchAll(/envoyproxy\/envoy:v[\w.-]+/g)].map((m) => `docker.io/${m[0]}`);
    assert.ok(images.length > 0, `${file} names no Envoy image`);
    for (const image of images) assert.equal(image, defaultEnvoyImage, `${file}`);
  }
});
