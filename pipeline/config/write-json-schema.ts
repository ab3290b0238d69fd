// Writes build-images.schema.json from the zod schemas (`npm run schema`); a test keeps it current.
import { writeFile } from 'node:fs/promises';
import { jsonSchema } from './schema.ts';

export const SCHEMA_FILE = new URL('../../build-images.schema.json', import.meta.url);

export function schemaText(): string {
  return `${JSON.stringify(jsonSchema(), null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await writeFile(SCHEMA_FILE, schemaText());
  process.stdout.write(`wrote ${SCHEMA_FILE.pathname}\n`);
}
