// The built-in actions of a command line, make's targets of the Makefile that the config replaces. Here,
// not in the schema, so that what only names them (the graph, the help) does not load the schema's library.
export const ACTIONS = ['deploy', 'deploy_latest', 'rmi', 'clean', 'distclean'] as const;
export type Action = (typeof ACTIONS)[number];
