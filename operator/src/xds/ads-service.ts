// The gRPC service definition of envoy.service.discovery.v3.AggregatedDiscoveryService, built from
// the loaded ads.proto with protobufjs codecs. Going through protobufjs directly (not proto-loader's
// object conversion) lets the server put a resource's already-encoded bytes into `Any.value` as they
// are: nothing is decoded or re-encoded on the way out.

import type * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { envoyRoot } from '../envoy/protos.ts';

export const adsServiceName = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

/** The fields of envoy.config.core.v3.Node the server reads. */
export interface NodeMessage {
  id?: string;
  cluster?: string;
  /** "envoy" for Envoy; gRPC libraries send "gRPC Go", "gRPC Java", "gRPC Node Pure JS", ... */
  userAgentName?: string;
}

interface ErrorDetail {
  code?: number;
  message?: string;
}

/** google.protobuf.Any as protobufjs's bundled common type spells it (snake_case, unlike the rest). */
export interface AnyMessage {
  type_url: string;
  value: Uint8Array;
}

export function anyOf(typeUrl: string, value: Uint8Array): AnyMessage {
  return { type_url: typeUrl, value };
}

/** envoy.service.discovery.v3.DiscoveryRequest (protobufjs camelCase fields). */
export interface DiscoveryRequestMessage {
  versionInfo?: string;
  node?: NodeMessage | null;
  resourceNames?: string[];
  typeUrl?: string;
  responseNonce?: string;
  errorDetail?: ErrorDetail | null;
}

export interface DiscoveryResponseMessage {
  versionInfo?: string;
  resources?: AnyMessage[];
  typeUrl?: string;
  nonce?: string;
}

export interface DeltaDiscoveryRequestMessage {
  node?: NodeMessage | null;
  typeUrl?: string;
  resourceNamesSubscribe?: string[];
  resourceNamesUnsubscribe?: string[];
  initialResourceVersions?: Record<string, string>;
  responseNonce?: string;
  errorDetail?: ErrorDetail | null;
}

export interface DeltaDiscoveryResponseMessage {
  systemVersionInfo?: string;
  resources?: { name: string; version: string; resource: AnyMessage }[];
  typeUrl?: string;
  removedResources?: string[];
  nonce?: string;
}

function codec<T extends object>(type: protobuf.Type) {
  return {
    serialize: (message: T): Buffer => Buffer.from(type.encode(message).finish()),
    // Decoded messages keep protobufjs defaults on the prototype ('' and [] for absent fields).
    deserialize: (bytes: Buffer): T => type.decode(bytes) as unknown as T,
  };
}

let cached: grpc.ServiceDefinition | undefined;

/** The ADS service definition for grpc-js servers (`addService`) and clients (`makeGenericClientConstructor`). */
export function adsServiceDefinition(): grpc.ServiceDefinition {
  if (cached) return cached;
  const service = envoyRoot().lookupService(adsServiceName);
  const definition: Record<string, grpc.MethodDefinition<object, object>> = {};
  for (const method of service.methodsArray) {
    method.resolve();
    const request = codec<object>(method.resolvedRequestType as protobuf.Type);
    const response = codec<object>(method.resolvedResponseType as protobuf.Type);
    definition[method.name] = {
      path: `/${adsServiceName}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: request.serialize,
      requestDeserialize: request.deserialize,
      responseSerialize: response.serialize,
      responseDeserialize: response.deserialize,
      originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
    };
  }
  cached = definition;
  return definition;
}
