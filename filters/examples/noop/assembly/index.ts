// The smallest filter: a root context with the default HttpContext, which lets every request through.
// Used by the benchmark to measure what the SDK and the host cost on their own.
export * from '../../../sdk/assembly/abi';

import { RootContext, registerRootContext } from '../../../sdk/assembly/index';

registerRootContext((id: u32): RootContext => new RootContext(id));
