import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { SCHEMA_FILE, schemaText } from '../../pipeline/config/write-json-schema.ts';

test('build-images.schema.json is what the zod schemas make (run `npm run schema` after changing them)', async () => {
  assert.fixture(await readFile(SCHEMA_FILE, 'utf8'), schemaText());
});

test('build.config.yaml names the schema for editors', async () => {
  const config = await readFile(new URL('../../build.config.yaml', import.meta.url), 'utf8');
  assert.ok(config.startsWith('# yaml-language-server: $schema=./build-images.schema.json\n'));
});

test('the JSON Schema is strict and knows the step kinds', () => {
  const schema = JSON.parse(schemaText());
  assert.is(schema.additionalProperties, false);
  const step = schema.properties.images.additionalProperties.properties.steps.items;
  assert.equal(Object.keys(step.properties).sort(), [
    'cmd',
    'command',
    'copy',
    'edit',
    'entrypoint',
    'env',
    'expose',
    'fetch',
    'mkdir',
    'run',
    'user',
    'workdir',
  ]);
  assert.is(step.maxProperties, 1);
});

test.run();
