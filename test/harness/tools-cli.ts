// `npm run tools`: builds (or finds in the cache) every Go test tool and downloads the Gateway API CRDs,
// printing where each one is. The test runner does the same on demand; this is for warming a machine.
import { gatewayApiCrdFiles, gatewayApiVersion } from './gateway-api.ts';
import { buildAllGoTools } from './go-tools.ts';

for (const [name, binary] of await buildAllGoTools()) process.stdout.write(`${name}: ${binary}\n`);
process.stdout.write(`Gateway API ${gatewayApiVersion()}: ${(await gatewayApiCrdFiles()).length} CRD files\n`);
