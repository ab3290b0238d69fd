// A standalone buildkitd as a builder. Loaded only by a run whose builders name one.
export { buildkitdEngine, type BuildkitdMachine } from './buildkitd-machine.ts';
export { buildkitdDialer } from './control-endpoint.ts';
