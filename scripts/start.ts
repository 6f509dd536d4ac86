// `npm start`, the main job. Until the operator lands this starts the local test control plane and
// prints how to reach it (see test/harness/cluster-cli.ts).
await import('../test/harness/cluster-cli.ts');
