// Who may open an ADS stream for which Gateway. An authenticator sees the connection's verified
// TLS peer and the node cluster the client claims, and either names the one Gateway the stream may
// read (and which types) or refuses with a reason (the stream then ends with PERMISSION_DENIED).

import type { PeerCertificate } from 'node:tls';
import { type GatewayKey, gatewayFromPeerCertificate, parseGatewayKey } from './identity.ts';

/** The TLS facts of a call (grpc-js's AuthContext, which its index does not export). */
export interface PeerAuth {
  readonly transportSecurityType?: string;
  readonly sslPeerCertificate?: PeerCertificate;
}

/**
 * Which resources a stream reads: `envoy` is the Gateway's Envoy fleet config; `proxyless` is the
 * proxyless-gRPC view (API listeners instead of socket listeners, routing types only: no Secrets,
 * no Wasm filter configs).
 */
export type View = 'envoy' | 'proxyless';

/** What the client says about itself in its first request (node.cluster, node.user_agent_name). */
export interface ClaimedNode {
  readonly cluster: string;
  readonly userAgentName: string;
}

/**
 * gRPC libraries name themselves "gRPC <language>" in node.user_agent_name (Envoy says "envoy"):
 * such a client with a valid Gateway certificate (gRFC A65 mTLS xDS credentials, in gRPC Go, Java
 * and C++) reads the proxyless view on the mTLS port.
 */
export function viewForUserAgent(userAgentName: string): View {
  return /^gRPC /.test(userAgentName) ? 'proxyless' : 'envoy';
}

export type AuthResult =
  | { readonly gateway: GatewayKey; readonly view: View }
  | { readonly denied: string; readonly reason: 'no-identity' | 'wrong-gateway' | 'not-allowed' };

export interface Authenticator {
  /** Checked when the stream opens, before any request: undefined means "wait for the node". */
  readonly onConnect: (auth: PeerAuth) => AuthResult | undefined;
  /** Checked on the first request, with the node cluster the client claims. */
  readonly onNode: (auth: PeerAuth, node: ClaimedNode) => AuthResult;
}

/**
 * The production rule: the client certificate (verified against the Legate CA by the TLS layer)
 * names exactly one Gateway, and the node cluster the client claims must be that Gateway.
 */
export const mtlsAuthenticator: Authenticator = {
  onConnect(auth) {
    if (gatewayFromPeerCertificate(auth.sslPeerCertificate)) return undefined;
    return {
      denied: 'no valid Legate xDS client certificate: each Gateway has its own in Secret legate-<gateway>-xds',
      reason: 'no-identity',
    };
  },
  onNode(auth, { cluster: nodeCluster, userAgentName }) {
    const gateway = gatewayFromPeerCertificate(auth.sslPeerCertificate);
    if (!gateway) return { denied: 'no valid Legate xDS client certificate', reason: 'no-identity' };
    if (nodeCluster !== gateway) {
      return {
        denied: `the client certificate belongs to Gateway ${gateway}, but the node claims cluster ${JSON.stringify(nodeCluster)}`,
        reason: 'wrong-gateway',
      };
    }
    return { gateway, view: viewForUserAgent(userAgentName) };
  },
};

/**
 * For a separate plaintext port serving proxyless gRPC clients, which cannot present a client
 * certificate (@grpc/grpc-js-xds 1.14 supports only `insecure` and `google_default` xDS channel
 * credentials, no gRFC A65 mTLS). A client names its Gateway through node.cluster; only Gateways
 * that opted in (`allow`) are served, and only the proxyless view. Never use it on the Envoy port.
 */
export function proxylessAuthenticator(allow: (gateway: GatewayKey) => boolean): Authenticator {
  return {
    onConnect: () => undefined,
    onNode(_auth, { cluster: nodeCluster }) {
      const parsed = parseGatewayKey(nodeCluster);
      const gateway = parsed ? (`${parsed.namespace}/${parsed.name}` as const) : undefined;
      if (!gateway || !allow(gateway)) {
        return {
          denied: `Gateway ${JSON.stringify(nodeCluster)} does not allow proxyless xDS clients`,
          reason: 'not-allowed',
        };
      }
      return { gateway, view: 'proxyless' };
    },
  };
}
