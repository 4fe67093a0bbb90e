import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDeploymentFile } from '../../../cli/deployment-file.ts';
import { EXAMPLE_CHART, EXAMPLE_DEPLOYMENT, shellWord } from '../../../cli/examples.ts';

describe('the shipped examples the hints name', () => {
  it('are absolute paths to files that exist, so a hint works from any directory', () => {
    for (const path of [EXAMPLE_CHART, EXAMPLE_DEPLOYMENT]) {
      expect(isAbsolute(path), path).toBe(true);
      expect(existsSync(path), path).toBe(true);
    }
    expect(existsSync(join(EXAMPLE_CHART, 'Chart.yaml'))).toBe(true);
  });

  it('make a deployment file that loads wherever the command runs', () => {
    expect(loadDeploymentFile(EXAMPLE_DEPLOYMENT)).toMatchObject({
      name: 'hello',
      source: { type: 'chart' },
    });
  });
});

describe('shellWord', () => {
  it.each([
    ['/opt/flotilla/examples/charts/hello', '/opt/flotilla/examples/charts/hello'],
    ['/home/me/my charts/hello', "'/home/me/my charts/hello'"],
    ["/home/o'neil/x", "'/home/o'\\''neil/x'"],
  ])('%s is written %s', (path, word) => {
    expect(shellWord(path)).toBe(word);
  });
});
