// TypeScript shapes of the Gateway API objects Legate reads (gateway.networking.k8s.io/v1, as of
// Gateway API v1.7). They mirror the JSON the API server returns, field for field (see
// sigs.k8s.io/gateway-api apis/v1/*_types.go), so a watched object can be used as is.
//
// Only types: no runtime code. Core Kubernetes types (Service, Secret, EndpointSlice...) come from
// @kubernetes/client-node.

export const GatewayApiGroup = 'gateway.networking.k8s.io';
export const GatewayApiVersion = `${GatewayApiGroup}/v1`;

/**
 * The metadata fields Legate uses. `creationTimestamp` is a string when parsed from JSON/YAML and a
 * Date when deserialized by @kubernetes/client-node's typed APIs; both are accepted.
 */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string | Date;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/**
 * A status condition as the Gateway API writes it (metav1.Condition). Translation is pure and has no
 * clock, so it leaves `lastTransitionTime` to the status writer.
 */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

// ---- shared references ----

export interface ParentReference {
  group?: string;
  kind?: string;
  namespace?: string;
  name: string;
  sectionName?: string;
  port?: number;
}

export interface BackendObjectReference {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
}

export interface BackendRef extends BackendObjectReference {
  weight?: number;
}

export interface SecretObjectReference {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
}

export interface LocalObjectReference {
  group: string;
  kind: string;
  name: string;
}

export interface ObjectReference {
  group: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface RouteGroupKind {
  group?: string;
  kind: string;
}

export interface RouteParentStatus {
  parentRef: ParentReference;
  controllerName: string;
  conditions?: Condition[];
}

export interface RouteStatus {
  parents: RouteParentStatus[];
}

export interface CommonRouteSpec {
  parentRefs?: ParentReference[];
  /** Gateway API v1.4+: `All` attaches the route to default Gateways. */
  useDefaultGateways?: 'All' | 'None';
}

// ---- GatewayClass ----

export interface ParametersReference {
  group: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface GatewayClass {
  apiVersion?: string;
  kind?: 'GatewayClass';
  metadata: ObjectMeta;
  spec: {
    controllerName: string;
    parametersRef?: ParametersReference;
    description?: string;
  };
  status?: { conditions?: Condition[]; supportedFeatures?: { name: string }[] };
}

// ---- Gateway ----

export type ProtocolType = 'HTTP' | 'HTTPS' | 'TLS' | 'TCP' | 'UDP' | (string & {});
export type FromNamespaces = 'All' | 'Same' | 'Selector' | 'None';
export type TLSModeType = 'Terminate' | 'Passthrough';

export interface ListenerTLSConfig {
  mode?: TLSModeType;
  certificateRefs?: SecretObjectReference[];
  options?: Record<string, string>;
}

export interface RouteNamespaces {
  from?: FromNamespaces;
  selector?: LabelSelector;
}

export interface AllowedRoutes {
  namespaces?: RouteNamespaces;
  kinds?: RouteGroupKind[];
}

export interface Listener {
  name: string;
  hostname?: string;
  port: number;
  protocol: ProtocolType;
  tls?: ListenerTLSConfig;
  allowedRoutes?: AllowedRoutes;
}

export interface LocalParametersReference {
  group: string;
  kind: string;
  name: string;
}

export interface GatewayInfrastructure {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  parametersRef?: LocalParametersReference;
}

export interface GatewaySpecAddress {
  type?: string;
  value?: string;
}

export interface ListenerStatus {
  name: string;
  supportedKinds: RouteGroupKind[];
  attachedRoutes: number;
  conditions: Condition[];
}

export interface GatewayStatus {
  addresses?: { type?: string; value: string }[];
  conditions?: Condition[];
  listeners?: ListenerStatus[];
}

export interface Gateway {
  apiVersion?: string;
  kind?: 'Gateway';
  metadata: ObjectMeta;
  spec: {
    gatewayClassName: string;
    listeners: Listener[];
    addresses?: GatewaySpecAddress[];
    infrastructure?: GatewayInfrastructure;
  };
  status?: GatewayStatus;
}

// ---- HTTPRoute ----

export type PathMatchType = 'Exact' | 'PathPrefix' | 'RegularExpression';
export type HeaderMatchType = 'Exact' | 'RegularExpression';
export type HTTPMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'CONNECT' | 'OPTIONS' | 'TRACE' | 'PATCH';

export interface HTTPPathMatch {
  type?: PathMatchType;
  value?: string;
}

export interface HTTPHeaderMatch {
  type?: HeaderMatchType;
  name: string;
  value: string;
}

export interface HTTPQueryParamMatch {
  type?: HeaderMatchType;
  name: string;
  value: string;
}

export interface HTTPRouteMatch {
  path?: HTTPPathMatch;
  headers?: HTTPHeaderMatch[];
  queryParams?: HTTPQueryParamMatch[];
  method?: HTTPMethod;
}

export interface HTTPHeader {
  name: string;
  value: string;
}

export interface HTTPHeaderFilter {
  set?: HTTPHeader[];
  add?: HTTPHeader[];
  remove?: string[];
}

export interface HTTPPathModifier {
  type: 'ReplaceFullPath' | 'ReplacePrefixMatch';
  replaceFullPath?: string;
  replacePrefixMatch?: string;
}

export interface HTTPRequestRedirectFilter {
  scheme?: 'http' | 'https';
  hostname?: string;
  path?: HTTPPathModifier;
  port?: number;
  statusCode?: 301 | 302 | 303 | 307 | 308;
}

export interface HTTPURLRewriteFilter {
  hostname?: string;
  path?: HTTPPathModifier;
}

export interface Fraction {
  numerator: number;
  denominator?: number;
}

export interface HTTPRequestMirrorFilter {
  backendRef: BackendObjectReference;
  percent?: number;
  fraction?: Fraction;
}

export interface HTTPCORSFilter {
  allowOrigins?: string[];
  allowCredentials?: boolean;
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAge?: number;
}

export type HTTPRouteFilterType =
  | 'RequestHeaderModifier'
  | 'ResponseHeaderModifier'
  | 'RequestRedirect'
  | 'URLRewrite'
  | 'RequestMirror'
  | 'CORS'
  | 'ExternalAuth'
  | 'ExtensionRef';

export interface HTTPRouteFilter {
  type: HTTPRouteFilterType;
  requestHeaderModifier?: HTTPHeaderFilter;
  responseHeaderModifier?: HTTPHeaderFilter;
  requestRedirect?: HTTPRequestRedirectFilter;
  urlRewrite?: HTTPURLRewriteFilter;
  requestMirror?: HTTPRequestMirrorFilter;
  cors?: HTTPCORSFilter;
  extensionRef?: LocalObjectReference;
}

export interface HTTPBackendRef extends BackendRef {
  filters?: HTTPRouteFilter[];
}

export interface HTTPRouteTimeouts {
  /** Gateway API duration, e.g. "10s", "500ms", "1h30m"; "0s" disables. */
  request?: string;
  backendRequest?: string;
}

export interface HTTPRouteRetry {
  codes?: number[];
  attempts?: number;
  backoff?: string;
}

export interface HTTPRouteRule {
  name?: string;
  matches?: HTTPRouteMatch[];
  filters?: HTTPRouteFilter[];
  backendRefs?: HTTPBackendRef[];
  timeouts?: HTTPRouteTimeouts;
  retry?: HTTPRouteRetry;
}

export interface HTTPRoute {
  apiVersion?: string;
  kind?: 'HTTPRoute';
  metadata: ObjectMeta;
  spec: CommonRouteSpec & {
    hostnames?: string[];
    rules?: HTTPRouteRule[];
  };
  status?: RouteStatus;
}

// ---- GRPCRoute ----

export interface GRPCMethodMatch {
  type?: 'Exact' | 'RegularExpression';
  service?: string;
  method?: string;
}

export interface GRPCHeaderMatch {
  type?: HeaderMatchType;
  name: string;
  value: string;
}

export interface GRPCRouteMatch {
  method?: GRPCMethodMatch;
  headers?: GRPCHeaderMatch[];
}

export type GRPCRouteFilterType = 'RequestHeaderModifier' | 'ResponseHeaderModifier' | 'RequestMirror' | 'ExtensionRef';

export interface GRPCRouteFilter {
  type: GRPCRouteFilterType;
  requestHeaderModifier?: HTTPHeaderFilter;
  responseHeaderModifier?: HTTPHeaderFilter;
  requestMirror?: HTTPRequestMirrorFilter;
  extensionRef?: LocalObjectReference;
}

export interface GRPCBackendRef extends BackendRef {
  filters?: GRPCRouteFilter[];
}

export interface GRPCRouteRule {
  name?: string;
  matches?: GRPCRouteMatch[];
  filters?: GRPCRouteFilter[];
  backendRefs?: GRPCBackendRef[];
}

export interface GRPCRoute {
  apiVersion?: string;
  kind?: 'GRPCRoute';
  metadata: ObjectMeta;
  spec: CommonRouteSpec & {
    hostnames?: string[];
    rules?: GRPCRouteRule[];
  };
  status?: RouteStatus;
}

// ---- ReferenceGrant ----

export interface ReferenceGrantFrom {
  group: string;
  kind: string;
  namespace: string;
}

export interface ReferenceGrantTo {
  group: string;
  kind: string;
  name?: string;
}

export interface ReferenceGrant {
  apiVersion?: string;
  kind?: 'ReferenceGrant';
  metadata: ObjectMeta;
  spec: { from: ReferenceGrantFrom[]; to: ReferenceGrantTo[] };
}

/** Any route kind Legate translates. */
export type Route = HTTPRoute | GRPCRoute;

// ---- condition types and reasons used in status (from apis/v1) ----

export const ConditionType = {
  Accepted: 'Accepted',
  ResolvedRefs: 'ResolvedRefs',
  Programmed: 'Programmed',
  Conflicted: 'Conflicted',
  PartiallyInvalid: 'PartiallyInvalid',
  OverlappingTLSConfig: 'OverlappingTLSConfig',
} as const;

export const RouteReason = {
  Accepted: 'Accepted',
  NotAllowedByListeners: 'NotAllowedByListeners',
  NoMatchingListenerHostname: 'NoMatchingListenerHostname',
  NoMatchingParent: 'NoMatchingParent',
  UnsupportedValue: 'UnsupportedValue',
  Pending: 'Pending',
  IncompatibleFilters: 'IncompatibleFilters',
  ResolvedRefs: 'ResolvedRefs',
  RefNotPermitted: 'RefNotPermitted',
  InvalidKind: 'InvalidKind',
  BackendNotFound: 'BackendNotFound',
  UnsupportedProtocol: 'UnsupportedProtocol',
} as const;

export const ListenerReason = {
  Accepted: 'Accepted',
  HostnameConflict: 'HostnameConflict',
  ProtocolConflict: 'ProtocolConflict',
  NoConflicts: 'NoConflicts',
  PortUnavailable: 'PortUnavailable',
  UnsupportedProtocol: 'UnsupportedProtocol',
  UnsupportedValue: 'UnsupportedValue',
  ResolvedRefs: 'ResolvedRefs',
  InvalidCertificateRef: 'InvalidCertificateRef',
  InvalidRouteKinds: 'InvalidRouteKinds',
  RefNotPermitted: 'RefNotPermitted',
  Programmed: 'Programmed',
  Invalid: 'Invalid',
  Pending: 'Pending',
  OverlappingHostnames: 'OverlappingHostnames',
  OverlappingCertificates: 'OverlappingCertificates',
} as const;

export const GatewayReason = {
  Accepted: 'Accepted',
  ListenersNotValid: 'ListenersNotValid',
  Pending: 'Pending',
  InvalidParameters: 'InvalidParameters',
  UnsupportedAddress: 'UnsupportedAddress',
  Programmed: 'Programmed',
  Invalid: 'Invalid',
  NoResources: 'NoResources',
  AddressNotAssigned: 'AddressNotAssigned',
} as const;
