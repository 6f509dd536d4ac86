// The one Envoy version Legate targets: the image fleets run by default, and the binary every test
// runs (test/harness/envoy.ts fetches that release). A test keeps the chart, the CRD docs and this
// constant equal, so what is tested is what is deployed.

export const EnvoyVersion = '1.40.0';

/** The image a fleet runs unless a ProxyConfig names another. */
export const defaultEnvoyImage = `docker.io/envoyproxy/envoy:v${EnvoyVersion}`;
