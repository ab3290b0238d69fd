// The plugins' type files, served on loopback in place of ONAP's Nexus: each URL answers a small
// Cloudify type file of its own, so the config's TYPE_REPO / CCSDK_REPO can point here with --set.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TypeServer {
  url: string;
  close(): Promise<void>;
}

export async function startTypeServer(): Promise<TypeServer> {
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/yaml');
    res.end(`tosca_definitions_version: cloudify_dsl_1_3\n# served for ${req.url}\nnode_types: {}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
