// cm-container's type files and resolver rules, from build.config.yaml as the tool reads it: every import
// URL of the list resolves, as Cloudify matches rules, to the file the build puts it in; and the boot script
// reads back from the edited config.yaml exactly the rules the build wrote, under Python 3 and 2.7.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tempDirSync } from '../support/temp.ts';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { prependToList } from '../../pipeline/context/file-edits.ts';
import { parseConfig } from '../../pipeline/config/load-config.ts';
import { prepareLoaded } from '../../pipeline/config/prepare.ts';
import { cmDeclaration, fixture, resolveImport } from '../support/cloudify.ts';

const test = suite('cm-rules');
const ROOT = new URL('../../', import.meta.url).pathname;
const CM_API = path.join(ROOT, 'images/cm-container/cm-api.py');
const RULES_AT = ['provider_context', 'import_resolver', 'parameters', 'rules'];
const cloudifyRules = () => parse(fixture('config.yaml')).provider_context.import_resolver.parameters.rules as Record<string, string>[];

function declared(sets: Record<string, string> = {}) {
  const parsed = parseConfig(readFileSync(path.join(ROOT, 'build.config.yaml'), 'utf8'), 'build.config.yaml', ROOT);
  const prepared = prepareLoaded(parsed, sets, { USER: 'alice' });
  return cmDeclaration(prepared.config.images['cm-container']!.steps as unknown as Record<string, unknown>[]);
}

/** The Pythons that run cm-api.py here: python3 always; 2.7 (the real base's) where this machine has one. */
function pythons(): string[] {
  const found = ['python3'];
  const pyenv = path.join(os.homedir(), '.pyenv/versions');
  const py27 = existsSync(pyenv) ? readdirSync(pyenv).find((v) => v.startsWith('2.7')) : undefined;
  if (py27) found.push(path.join(pyenv, py27, 'bin/python'));
  else if (existsSync('/usr/bin/python2.7')) found.push('/usr/bin/python2.7');
  return found;
}

test('the list holds ONAP 1.5.0’s six type files, k8splugin 1.4.4 and 1.4.5, and dockerplugin 3.2.1', () => {
  const paths = declared().typeFiles.map((f) => f.url.replace(/^https:\/\/nexus\.onap\.org\/service\/local\/repositories\/raw\/content\//, ''));
  assert.equal(paths.sort(), [
    'org.onap.ccsdk.platform.plugins/type_files/pgaas/1.1.0/pgaas_types.yaml',
    'org.onap.ccsdk.platform.plugins/type_files/sshkeyshare/sshkey_types.yaml',
    'org.onap.dcaegen2.platform.plugins/R4/dcaepolicyplugin/2.3.0/dcaepolicyplugin_types.yaml',
    'org.onap.dcaegen2.platform.plugins/R4/dockerplugin/3.2.0/dockerplugin_types.yaml',
    'org.onap.dcaegen2.platform.plugins/R4/dockerplugin/3.2.1/dockerplugin_types.yaml',
    'org.onap.dcaegen2.platform.plugins/R4/k8splugin/1.4.3/k8splugin_types.yaml',
    'org.onap.dcaegen2.platform.plugins/R4/k8splugin/1.4.4/k8splugin_types.yaml',
    'org.onap.dcaegen2.platform.plugins/R4/k8splugin/1.4.5/k8splugin_types.yaml',
    'org.onap.dcaegen2.platform.plugins/R4/relationshipplugin/1.0.0/relationshipplugin_types.yaml',
  ]);
});

test('every import URL of the list resolves, first matching rule first, to the file the build puts it in', () => {
  for (const sets of [{} as Record<string, string>, { TYPE_REPO: 'http://mirror.test/dcae', CCSDK_REPO: 'http://mirror.test/ccsdk', ONAPSPEC: '/srv/types' }]) {
    const { typeFiles, rules } = declared(sets);
    const all = [...rules, ...cloudifyRules()];
    for (const { url, to } of typeFiles) assert.is(resolveImport(url, all), `file://${to}`, url);
  }
});

test('Cloudify’s own imports still resolve by Cloudify’s rule after ours', () => {
  const all = [...declared().rules, ...cloudifyRules()];
  assert.is(resolveImport('http://www.getcloudify.org/spec/cloudify/3.4/types.yaml', all), 'file:///opt/manager/resources/spec/cloudify/3.4/types.yaml');
});

test('cm-api.py reads back from the edited config.yaml the rules the build wrote, in order, under each Python', () => {
  const { rules } = declared();
  const edited = prependToList('/etc/cloudify/config.yaml', fixture('config.yaml'), RULES_AT, rules);
  const dir = tempDirSync('bi-cm-rules-');
  writeFileSync(path.join(dir, 'config.yaml'), edited);
  const expected = parse(edited).provider_context.import_resolver.parameters.rules;
  assert.equal(expected, [...rules, ...cloudifyRules()]);
  for (const python of pythons()) {
    const out = execFileSync(python, [CM_API, 'rules'], { env: { ...process.env, CM_CONFIG: path.join(dir, 'config.yaml') }, encoding: 'utf8' });
    assert.equal(JSON.parse(out), expected, python);
  }
});

test('cm-api.py reads quoted keys and values as YAML does', () => {
  const text = fixture('config.yaml').replace(
    '      - {http://www.getcloudify.org/spec',
    `      - {'it''s': "a \\"b\\" c"}\n      - {"http://x.test/a b": 'file:///x'}  # a comment\n      - {http://www.getcloudify.org/spec`,
  );
  const dir = tempDirSync('bi-cm-rules-');
  writeFileSync(path.join(dir, 'config.yaml'), text);
  for (const python of pythons()) {
    const out = execFileSync(python, [CM_API, 'rules'], { env: { ...process.env, CM_CONFIG: path.join(dir, 'config.yaml') }, encoding: 'utf8' });
    assert.equal(JSON.parse(out), parse(text).provider_context.import_resolver.parameters.rules, python);
  }
});

test('the image’s scripts hold no copy of the repositories’ URLs: config.yaml is the one declaration', () => {
  const dir = path.join(ROOT, 'images/cm-container');
  for (const name of readdirSync(dir))
    assert.not.match(readFileSync(path.join(dir, name), 'utf8'), /nexus|onap\.org|file:\/\/\/opt\/manager\/resources\/onapspec/, name);
});

/** A loopback stand-in of the manager's API, checking the credentials as the manager does. */
async function manager(context: unknown) {
  const seen: string[] = [];
  const state = { context };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url}`);
      const json = (code: number, value: unknown) => res.writeHead(code, { 'Content-Type': 'application/json' }).end(JSON.stringify(value));
      if (req.headers.authorization !== `Basic ${Buffer.from('admin:admin').toString('base64')}` || req.headers.tenant !== 'default_tenant') json(401, {});
      else if (req.method === 'GET' && req.url === '/api/v3.1/provider/context') json(200, state.context);
      else if (req.method === 'POST' && req.url === '/api/v3.1/provider/context?update=true') json(200, (state.context = JSON.parse(body)));
      else if (req.method === 'GET' && req.url === '/api/v3.1/deployments?_include=id') json(200, { items: [{ id: 'a' }, { id: 'b' }] });
      else json(404, {});
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    state,
    close: () =>
      new Promise((r) => {
        server.close(r);
        server.closeAllConnections();
      }),
  };
}

test('apply-rules, check and deployments speak to the API as the manager expects, under each Python; a second apply changes nothing', async () => {
  const { rules } = declared();
  const dir = tempDirSync('bi-cm-api-');
  writeFileSync(path.join(dir, 'config.yaml'), prependToList('/etc/cloudify/config.yaml', fixture('config.yaml'), RULES_AT, rules));
  writeFileSync(path.join(dir, 'systemctl'), `#!/bin/sh\necho "$*" >> ${dir}/systemctl.log\n`);
  chmodSync(path.join(dir, 'systemctl'), 0o755);
  const initial = JSON.parse(fixture('provider-context.json'));
  for (const python of pythons()) {
    const api = await manager(structuredClone(initial));
    const env = { ...process.env, CM_CONFIG: path.join(dir, 'config.yaml'), CM_API: api.url, PATH: `${dir}:${process.env['PATH']}` };
    const run = (command: string) =>
      promisify(execFile)(python, [CM_API, command], { env }).catch((err: { code: number; stdout: string }) => ({ stdout: err.stdout, code: err.code }));
    writeFileSync(path.join(dir, 'systemctl.log'), '');
    try {
      assert.match((await run('check')).stdout, /not in force/, python);
      assert.match((await run('apply-rules')).stdout, /provider context updated: 3 rules, 2 added first/, python);
      const context = api.state.context as {
        name: string;
        context: { cloudify: { import_resolver: { parameters: { rules: unknown[]; fallback: boolean } } } };
      };
      assert.is(context.name, 'provider');
      assert.equal(context.context.cloudify.import_resolver.parameters.rules, [...rules, ...cloudifyRules()]);
      assert.is(context.context.cloudify.import_resolver.parameters.fallback, true);
      assert.match((await run('apply-rules')).stdout, /already in force/, python);
      assert.is(api.seen.filter((r) => r.startsWith('POST')).length, 1, python);
      assert.is(readFileSync(path.join(dir, 'systemctl.log'), 'utf8'), 'restart cloudify-restservice\n', python);
      assert.is((await run('check')).stdout, '', python);
      assert.is((await run('deployments')).stdout, 'a\nb\n', python);
    } finally {
      await api.close();
    }
  }
});

test.run();
