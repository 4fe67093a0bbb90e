import { describe, expect, it } from 'vitest';
import { readTgz } from '../../../../adapters/helm/tar.ts';
import { ValidationError } from '../../../../domain/errors.ts';
import { LIMITS } from '../../../../domain/limits.ts';
import { type RawEntry, rawTgz } from '../../../integration/helpers/raw-tar.ts';

const CHART = [
  { name: 'web/Chart.yaml', data: 'apiVersion: v2\nname: web\nversion: 1.0.0\n' },
  { name: 'web/templates/cm.yaml', data: 'kind: ConfigMap' },
];

function refusal(entries: readonly RawEntry[]): ValidationError {
  try {
    readTgz(rawTgz(entries), LIMITS.chartExpandedBytes);
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('accepted');
}

describe('readTgz', () => {
  it('reads regular files, normalizing ./ and doubled slashes', () => {
    const files = readTgz(
      rawTgz([
        { name: './', type: '5' },
        { name: './web//Chart.yaml', data: 'x' },
        { name: 'web/templates/', type: '5' },
      ]),
      LIMITS.chartExpandedBytes,
    );
    expect(files.map((f) => f.path)).toEqual(['web/Chart.yaml']);
  });

  it.each<[string, RawEntry[], RegExp]>([
    ['a file named ""', [...CHART, { name: '' }], /"" names no file/],
    ['a file named ./', [...CHART, { name: './' }], /"\.\/" names no file/],
    ['a file named .', [...CHART, { name: '.' }], /names no file/],
    [
      'a file followed by a directory of the same name',
      [...CHART, { name: 'web/x', data: 'a' }, { name: 'web/x/y', data: 'b' }],
      /"web\/x" is both a file and a directory/,
    ],
    [
      'a directory entry over a file',
      [...CHART, { name: 'web/z', data: 'a' }, { name: 'web/z/', type: '5' }],
      /"web\/z" is both a file and a directory/,
    ],
    [
      'a directory followed by a file of the same name',
      [{ name: 'web/t/a', data: 'a' }, ...CHART, { name: 'web/t' }],
      /"web\/t" is both/,
    ],
    ['a file twice', [...CHART, { name: 'web/Chart.yaml', data: 'again' }], /appears twice/],
    ['a path escaping the chart', [...CHART, { name: 'web/../../etc/passwd' }], /escapes/],
    ['an absolute path', [{ name: '/etc/passwd' }], /escapes/],
    ['a symbolic link', [...CHART, { name: 'web/link', type: '2' }], /links are not allowed/],
    [
      'a name part over 255 bytes',
      [
        ...CHART,
        { name: `web/${'a'.repeat(99 - 4)}`, data: 'x' },
        { name: 'x', type: 'L', data: `web/${'b'.repeat(300)}` },
        { name: 'ignored', data: 'y' },
      ],
      /longer than 255 bytes/,
    ],
    ['a control character in a name', [...CHART, { name: 'web/a\nb' }], /control character/],
  ])('refuses %s as a ValidationError on source.archive', (_what, entries, message) => {
    const error = refusal(entries);
    expect(error.issues).toEqual([{ path: 'source.archive', message: expect.stringMatching(message) }]);
  });

  it(`refuses more than ${LIMITS.chartFiles} files`, () => {
    const entries = Array.from({ length: LIMITS.chartFiles + 1 }, (_, i) => ({ name: `web/f${i}` }));
    expect(refusal(entries).issues[0]?.message).toMatch(/more than 5000 files/);
  });
});
