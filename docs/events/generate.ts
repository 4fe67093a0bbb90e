/**
 * `npm run events:schemas`: write the JSON Schema of every event type to docs/events/<Type>.json
 * (generated from the zod schemas in domain/events.ts by usecases/events/catalogue.ts) and remove
 * schemas of types that no longer exist. test/unit/usecases/events checks the files are current.
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventSchemaFiles } from '../../usecases/events/catalogue.ts';

const dir = import.meta.dirname;
const files = eventSchemaFiles();
for (const [name, content] of files) writeFileSync(join(dir, name), content);
for (const name of readdirSync(dir)) {
  if (name.endsWith('.json') && !files.has(name)) rmSync(join(dir, name));
}
process.stdout.write(`wrote ${files.size} event schemas to ${dir}\n`);
