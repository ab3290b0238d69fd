// BuildKit through the Engine API (POST /build?version=2 with a session of our own, run inside the Control
// API's Control.Session stream). What the rest of the tool uses from this folder.
export { createBuildkitBuilder, type BuildkitBuilder, type BuildkitOptions, type SessionContextRequest, type TarBodyRequest } from './builder.ts';
export type { SessionFile } from './file-sync.ts';
export { supportsBuildkit } from './detect.ts';
export { controlOn, dialControl, type ControlConnection, type ControlRoute } from './control-dial.ts';
