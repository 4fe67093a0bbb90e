/**
 * The examples shipped with Flotilla (examples/ travels in the package), as absolute paths: hints
 * printed by `up` and `sim` must work from any directory, for a user who installed the package
 * as much as in a checkout.
 */
import { join } from 'node:path';

const EXAMPLES = join(import.meta.dirname, '..', 'examples');

/** The hello chart the demo deploys. */
export const EXAMPLE_CHART = join(EXAMPLES, 'charts', 'hello');

/** The deployment file the demo deploys (the hello chart to env=prod). */
export const EXAMPLE_DEPLOYMENT = join(EXAMPLES, 'deploy-hello.yaml');

/** A path as one shell word: as it is when that is safe, else in single quotes. */
export function shellWord(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`;
}
