// The intermediate representation between the Gateway API and Envoy: what one Gateway's proxies must
// do, independent of both the Kubernetes and the Envoy shapes. Built by gatewayapi.ts, rendered by
// envoy.ts (Envoy resources) and by the proxyless-gRPC variant. Everything here is already valid and
// resolved: errors were turned into status conditions (or into a 500 direct response) before.

/** One Envoy socket listener: every valid Gateway listener on one port. */
export interface IrListener {
  /** Stable xDS name, `<namespace>/<gateway>/<port>`. */
  name: string;
  /** The port clients connect to (the Gateway listener port). */
  port: number;
  protocol: 'HTTP' | 'HTTPS';
  /** HTTP: exactly one chain. HTTPS: one chain per Gateway listener (SNI match). */
  filterChains: IrFilterChain[];
}

export interface IrFilterChain {
  /** The Gateway listener names this chain serves (HTTP: all on the port; HTTPS: one). */
  gatewayListeners: string[];
  /** SNI names (HTTPS only); empty = any SNI. */
  serverNames: string[];
  /** SDS secret names of the certificates (HTTPS only). */
  certificates: string[];
  routeConfig: IrRouteConfig;
}

export interface IrRouteConfig {
  /** `<namespace>/<gateway>/<port>` (HTTP) or `<namespace>/<gateway>/<port>/<listener>` (HTTPS). */
  name: string;
  virtualHosts: IrVirtualHost[];
}

export interface IrVirtualHost {
  /** `<routeConfig>/<domain>`. */
  name: string;
  /** The one domain (hostname, `*.suffix` wildcard, or `*`) this host answers. */
  domain: string;
  /** In match order: the first that matches a request wins. */
  routes: IrRoute[];
}

export type IrPathMatch =
  | { kind: 'exact'; value: string }
  /** Segment prefix: `/foo` matches `/foo`, `/foo/` and `/foo/bar`, not `/foobar`. `/` matches all. */
  | { kind: 'prefix'; value: string }
  | { kind: 'regex'; value: string };

export interface IrStringMatch {
  name: string;
  kind: 'exact' | 'regex';
  value: string;
}

export interface IrMatch {
  path: IrPathMatch;
  headers: IrStringMatch[];
  queryParams: IrStringMatch[];
  method?: string;
}

export interface IrHeaderMods {
  set: { name: string; value: string }[];
  add: { name: string; value: string }[];
  remove: string[];
}

export interface IrBackend {
  /** Cluster name (see IrCluster). */
  cluster: string;
  weight: number;
  requestHeaders?: IrHeaderMods;
  responseHeaders?: IrHeaderMods;
}

export interface IrMirror {
  cluster: string;
  /** Share of requests mirrored, in parts per million (1,000,000 = all). */
  perMillion: number;
}

export type IrPathRewrite = { kind: 'full'; value: string } | { kind: 'prefix'; value: string };

export interface IrForward {
  kind: 'forward';
  /** Weighted backends, weight > 0. A share of traffic meant for invalid backends goes to
   * `invalidWeight` (answered with `invalidStatus`). */
  backends: IrBackend[];
  invalidWeight: number;
  /** The status the invalid share gets: 500 (HTTPRoute), 503 (GRPCRoute: gRPC UNAVAILABLE). Default 500. */
  invalidStatus?: 500 | 503;
  hostRewrite?: string;
  pathRewrite?: IrPathRewrite;
  mirrors: IrMirror[];
  /** Total request timeout in ms; 0 disables; undefined = Envoy default. */
  timeoutMs?: number;
  /** Per backend attempt timeout in ms. */
  perTryTimeoutMs?: number;
  /** Retries (HTTPRoute `retry`): on connection failures and on the listed status codes. */
  retry?: IrRetry;
}

export interface IrRetry {
  /** Retries after the first attempt (0 is never rendered: no `retry` then). */
  attempts: number;
  codes: number[];
  backoffMs?: number;
}

export interface IrRedirect {
  kind: 'redirect';
  scheme?: 'http' | 'https';
  hostname?: string;
  /**
   * The Location port, as the spec derives it (explicit, else the scheme's well-known port, else the
   * listener's). Undefined when it is the well-known port of the final scheme: the spec wants no port
   * in the Location then, and Envoy would print an explicit port_redirect verbatim.
   */
  port?: number;
  path?: IrPathRewrite;
  statusCode: 301 | 302 | 303 | 307 | 308;
}

export interface IrDirect {
  kind: 'direct';
  status: number;
  body: string;
}

export type IrAction = IrForward | IrRedirect | IrDirect;

/** HTTPRoute CORS filter (Envoy's CORS filter, per route). */
export interface IrCors {
  /** Exact origins, or `*`-wildcard ones (`*` alone: any origin). */
  allowOrigins: string[];
  allowMethods: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds?: number;
  allowCredentials?: boolean;
}

export interface IrRoute {
  /** `<kind>/<namespace>/<name>/rule/<i>/match/<j>`: where it came from. */
  name: string;
  match: IrMatch;
  action: IrAction;
  requestHeaders?: IrHeaderMods;
  responseHeaders?: IrHeaderMods;
  cors?: IrCors;
}

export interface IrServicePort {
  namespace: string;
  name: string;
  port: number;
}

/** An upstream: one Service port, spoken over HTTP/1.1 or cleartext HTTP/2. */
export interface IrCluster {
  /** `<namespace>/<service>/<port>`, with `/h2c` appended for HTTP/2 clusters. */
  name: string;
  /** The ClusterLoadAssignment name (EDS service name): `<namespace>/<service>/<port>`. */
  endpoints: string;
  protocol: 'http1' | 'h2c';
  service: IrServicePort;
}

export interface IrEndpoint {
  address: string;
  port: number;
  zone?: string;
}

export interface IrEndpoints {
  name: string;
  endpoints: IrEndpoint[];
}

export interface IrSecret {
  /** `<namespace>/<secret>`. */
  name: string;
  certificateChain: string;
  privateKey: string;
}

/** One proxyless-gRPC entry point: a Gateway listener addressed by name. */
export interface IrApiListener {
  /** `<namespace>/<gateway>/<listener>`. */
  name: string;
  routeConfig: string;
}

export interface IrGateway {
  key: string;
  listeners: IrListener[];
  apiListeners: IrApiListener[];
  clusters: IrCluster[];
  endpoints: IrEndpoints[];
  secrets: IrSecret[];
}
