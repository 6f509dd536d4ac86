// The documented name under which a Gateway listener is served to proxyless gRPC clients as an
// `api_listener` Listener. A client dials `xds:///<this name>`; the name doubles as the default
// :authority gRPC uses to pick a virtual host, so routes without hostnames match it through "*",
// and a client reaching a route with hostnames sets the channel option `grpc.default_authority`.

import { type GatewayKey, parseGatewayKey } from './identity.ts';

/** `<listener>.<gateway>.<namespace>.legate`, e.g. `grpc.web.team-a.legate`. */
export function proxylessListenerName(gateway: GatewayKey, listener: string): string {
  const parsed = parseGatewayKey(gateway);
  if (!parsed) throw new Error(`not a valid Gateway key: ${JSON.stringify(gateway)}`);
  return `${listener}.${parsed.name}.${parsed.namespace}.legate`;
}
