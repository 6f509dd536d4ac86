// The Legate filter SDK: everything a filter imports. The module's wasm exports live in abi.ts,
// which the filter's entry file re-exports (see docs/filters/sdk-reference.md).

export * from './base64';
export * from './config';
export * from './context';
export * from './cookie';
export * from './hash';
export * from './hex';
export * from './host';
export * from './http';
export * from './instances';
export * from './json';
export * from './logline';
export { HeaderPair } from './memory';
export * from './random';
export * from './time';
export * from './types';
export * from './url';
