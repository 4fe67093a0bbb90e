#!/usr/bin/env node
// Launcher for the flotilla command. Flotilla needs Node.js >= 22 (it runs its TypeScript
// sources directly, with Node's type stripping). When started by an older node, it re-runs
// itself with the Node 24 binary that the `node` devDependency installs. That is also why
// package.json declares no `engines`: `npx flotilla` installs the project into npx's cache and
// npm checks the root's engines against the node npm itself runs on, warning (twice: the link
// and its target; on every run where npm re-installs it each time, npm/cli#9251) although the
// command then runs on Node 24. This file enforces the floor.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  let nodeBin;
  try {
    nodeBin = join(dirname(createRequire(import.meta.url).resolve('node/package.json')), 'bin', 'node');
  } catch {
    process.stderr.write(
      `flotilla: Node.js >= 22 is required (this is ${process.version}): use Node.js 22 or newer, or run \`npm ci\` in the flotilla checkout (it installs Node 24 for it)\n`,
    );
    process.exit(1);
  }
  const child = spawnSync(nodeBin, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(child.status ?? 1);
}
await import('../cli/main.ts');
