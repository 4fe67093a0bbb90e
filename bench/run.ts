/**
 * `npm run bench [-- part…]`: runs every bench/*.bench.ts (or only the named parts) one after the
 * other and prints their figures. Each part exports `run(): Promise<void>` and prints its own
 * figures, its baseline measured in the same run, and the ratio between them.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const wanted = process.argv.slice(2);
const parts = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length))
  .filter((name) => wanted.length === 0 || wanted.includes(name))
  .sort();

if (parts.length === 0) {
  process.stderr.write(`bench: no part matches ${wanted.join(', ')}\n`);
  process.exit(1);
}
for (const part of parts) {
  const mod = (await import(pathToFileURL(join(import.meta.dirname, `${part}.bench.ts`)).href)) as {
    run: () => Promise<void>;
  };
  process.stdout.write(`\n== bench ${part} (node ${process.version}, ${new Date().toISOString()}) ==\n`);
  await mod.run();
}
