// The header maps and buffers of the current context, as ready-made objects. @lazy keeps unused ones
// out of the module (each would otherwise be built at start-up). Kept apart because Biome cannot
// parse AssemblyScript decorators.
import { HeaderMap, HostBuffer } from './host';
import { BufferType, MapType } from './types';

// @ts-ignore: decorator
@lazy export const requestHeaders = new HeaderMap(MapType.RequestHeaders);
// @ts-ignore: decorator
@lazy export const requestTrailers = new HeaderMap(MapType.RequestTrailers);
// @ts-ignore: decorator
@lazy export const responseHeaders = new HeaderMap(MapType.ResponseHeaders);
// @ts-ignore: decorator
@lazy export const responseTrailers = new HeaderMap(MapType.ResponseTrailers);
/** Headers of the response to an httpCall: valid inside onHttpCallResponse only. */
// @ts-ignore: decorator
@lazy export const httpCallResponseHeaders = new HeaderMap(MapType.HttpCallResponseHeaders);
// @ts-ignore: decorator
@lazy export const httpCallResponseTrailers = new HeaderMap(MapType.HttpCallResponseTrailers);
// @ts-ignore: decorator
@lazy export const requestBody = new HostBuffer(BufferType.HttpRequestBody);
// @ts-ignore: decorator
@lazy export const responseBody = new HostBuffer(BufferType.HttpResponseBody);
// @ts-ignore: decorator
@lazy export const httpCallResponseBody = new HostBuffer(BufferType.HttpCallResponseBody);
// @ts-ignore: decorator
@lazy export const pluginConfiguration = new HostBuffer(BufferType.PluginConfiguration);
// @ts-ignore: decorator
@lazy export const vmConfiguration = new HostBuffer(BufferType.VmConfiguration);
// @ts-ignore: decorator
@lazy export const downstreamData = new HostBuffer(BufferType.DownstreamData);
// @ts-ignore: decorator
@lazy export const upstreamData = new HostBuffer(BufferType.UpstreamData);
// @ts-ignore: decorator
@lazy export const grpcReceiveBuffer = new HostBuffer(BufferType.GrpcReceiveBuffer);
// @ts-ignore: decorator
@lazy export const foreignCallData = new HostBuffer(BufferType.CallData);
