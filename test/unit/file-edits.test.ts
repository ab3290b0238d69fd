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
  assert.throws(() => prependToList('/etc/cloudify/config.yaml', 'provider_context: {}\n', AT, RULES), /\/etc\/cloudify\/config.yaml: provider_context.import_resolver.parameters.rules does not exist/);
  const notList = 'provider_context:\n  import_resolver:\n    parameters:\n      rules: none\n';
  assert.throws(() => prependToList('/etc/cloudify/config.yaml', notList, AT, RULES), /config.yaml: provider_context.import_resolver.parameters.rules is not a list/);
});

test('a line is appended once, after a final newline if the file lacks one; the file can be made executable', () => {
  const rcLocal = '#!/bin/bash\n# local start-up\ntouch /var/lock/subsys/local';
  const once = appendLine(rcLocal, '/scripts/setup-secret.sh');
  assert.is(once, `${rcLocal}\n/scripts/setup-secret.sh\n`);
  assert.is(appendLine(once, '/scripts/setup-secret.sh'), once);
  assert.is(applyEdit('rc.local', rcLocal, 0o644, { kind: 'append-line', line: 'x', executable: true }).mode, 0o755);
});

test.run();
