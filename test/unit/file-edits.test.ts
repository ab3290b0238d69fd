import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { appendLine, applyEdit, prependToList } from '../../pipeline/context/file-edits.ts';

const CONFIG = readFileSync(new URL('../fixtures/cloudify-config.yaml', import.meta.url), 'utf8');
const AT = ['provider_context', 'import_resolver', 'parameters', 'rules'];
const RULES: Record<string, string>[] = [
  { 'https://nexus.example/plugins/R4': 'file:///opt/manager/resources/onapspec' },
  { 'https://nexus.example/ccsdk': 'file:///opt/manager/resources/onapspec' },
];

test('the rules go to the front of the list, in order; first match wins', () => {
  const edited = prependToList('config.yaml', CONFIG, AT, RULES);
  const rules = parse(edited).provider_context.import_resolver.parameters.rules;
  assert.equal(rules.slice(0, 2), RULES);
  assert.equal(rules.length, 4);
});

test('every other byte stays as it was: comments, quoting, order, indentation', () => {
  const edited = prependToList('config.yaml', CONFIG, AT, RULES);
  const added = [
    "        - {'https://nexus.example/plugins/R4': 'file:///opt/manager/resources/onapspec'}\n",
    "        - {'https://nexus.example/ccsdk': 'file:///opt/manager/resources/onapspec'}\n",
  ].join('');
  const at = CONFIG.indexOf("        - {'http://www.getcloudify.org/spec'");
  assert.is(edited, CONFIG.slice(0, at) + added + CONFIG.slice(at));
});

test('applying the edit twice changes nothing', () => {
  const once = prependToList('config.yaml', CONFIG, AT, RULES);
  assert.is(prependToList('config.yaml', once, AT, RULES), once);
});

test('a flow-style list gets the rules after its bracket', () => {
  const text = "provider_context:\n  import_resolver:\n    parameters:\n      rules: [{'http://a': 'file:///a'}]  # one\n";
  const edited = prependToList('c.yaml', text, AT, [{ 'http://b': "file:///it's" }]);
  assert.is(edited, "provider_context:\n  import_resolver:\n    parameters:\n      rules: [{'http://b': 'file:///it''s'}, {'http://a': 'file:///a'}]  # one\n");
  assert.equal(parse(edited).provider_context.import_resolver.parameters.rules[0], { 'http://b': "file:///it's" });
});

test('a missing path, or one that is not a list, fails naming the file and the path', () => {
  assert.throws(
    () => prependToList('/etc/cloudify/config.yaml', 'provider_context: {}\n', AT, RULES),
    /\/etc\/cloudify\/config.yaml: provider_context.import_resolver.parameters.rules does not exist/,
  );
  const notList = 'provider_context:\n  import_resolver:\n    parameters:\n      rules: none\n';
  assert.throws(
    () => prependToList('/etc/cloudify/config.yaml', notList, AT, RULES),
    /config.yaml: provider_context.import_resolver.parameters.rules is not a list/,
  );
});

test('a line is appended once, after a final newline if the file lacks one; the file can be made executable', () => {
  const rcLocal = '#!/bin/bash\n# local start-up\ntouch /var/lock/subsys/local';
  const once = appendLine(rcLocal, '/scripts/setup-secret.sh');
  assert.is(once, `${rcLocal}\n/scripts/setup-secret.sh\n`);
  assert.is(appendLine(once, '/scripts/setup-secret.sh'), once);
  assert.is(applyEdit('rc.local', Buffer.from(rcLocal), 0o644, { kind: 'append-line', line: 'x', executable: true }).mode, 0o755);
});

test('a file that is not UTF-8 text is refused, not rewritten', () => {
  const edit = { kind: 'append-line', line: '/x', executable: false } as const;
  const binary = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0xff, 0xfe, 0x80]);
  assert.throws(
    () => applyEdit('/bin/busybox', binary, 0o755, edit),
    /\/bin\/busybox in the base image is not UTF-8 text \(it holds NUL bytes, as binary files do, line 1\)/,
  );
  const latin1 = Buffer.from('# caf\xe9\n', 'latin1');
  assert.throws(() => applyEdit('/etc/motd', latin1, 0o644, edit), /not UTF-8 text \(it has bytes that are not UTF-8, line 1\)/);
  const utf16 = Buffer.from('\ufeffa: 1\n', 'utf16le');
  assert.throws(() => applyEdit('/etc/a.yaml', utf16, 0o644, edit), /it is UTF-16 \(little-endian, with a byte-order mark\)/);
  // A UTF-8 byte-order mark is text, and is kept.
  assert.is(applyEdit('/etc/a', Buffer.from('\ufeffa\n'), 0o644, edit).text, '\ufeffa\n/x\n');
});

test.run();
