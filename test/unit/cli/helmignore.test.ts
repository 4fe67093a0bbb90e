import { describe, expect, it } from 'vitest';
import { isIgnored, isValidGlob, matchGlob, parseHelmignore } from '../../../cli/helmignore.ts';
import { ValidationError } from '../../../domain/errors.ts';

// Every expectation here was checked against the real `helm package` (Helm 4.2); the
// integration test test/integration/pack/helm-package.test.ts re-checks them against the binary.

describe('matchGlob (Go filepath.Match)', () => {
  it.each([
    ['*', 'abc', true],
    ['*', 'a/b', false],
    ['*', '', true],
    ['*.tgz', 'x.tgz', true],
    ['*.tgz', 'charts/x.tgz', false],
    ['*/*.tgz', 'charts/x.tgz', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbY/c', false],
    ['a*', 'ab/c', false],
    ['?', 'a', true],
    ['?', '/', false],
    ['?', 'ü', true],
    ['??', 'ü', false],
    ['[ab].tgz', 'a.tgz', true],
    ['[ab].tgz', 'c.tgz', false],
    ['[^a].tgz', 'b.tgz', true],
    ['[^a].tgz', 'a.tgz', false],
    // `!` is an ordinary character in a Go class, not a negation.
    ['[!a].tgz', '!.tgz', true],
    ['[!a].tgz', 'b.tgz', false],
    ['[a-c]x', 'bx', true],
    ['[a-c]x', 'dx', false],
    // Unlike `*` and `?`, a class matches `/`.
    ['x[/]y', 'x/y', true],
    ['a\\[1\\].txt', 'a[1].txt', true],
    ['a[[]1].txt', 'a[1].txt', true],
    ['q\\?.txt', 'q?.txt', true],
    ['q\\?.txt', 'qx.txt', false],
    ['[\\]]', ']', true],
    ['\\*', '*', true],
    ['\\*', 'x', false],
    ['abc', 'abcd', false],
    ['', '', true],
    ['', 'a', false],
  ])('%j against %j is %s', (pattern, name, expected) => {
    expect(matchGlob(pattern, name)).toBe(expected);
  });

  it.each([
    ['a[', false],
    ['[]', false],
    ['[]a]', false],
    ['[^]', false],
    ['[-a]', false],
    ['[a-]', false],
    ['ab\\', false],
    // Go validates the whole pattern, not only the part a name reached.
    ['x*[', false],
    ['[a-z]', true],
    ['\\[', true],
    ['*', true],
    ['!x', true],
  ])('%j is well formed: %s', (pattern, valid) => {
    expect(isValidGlob(pattern)).toBe(valid);
  });

  it('matches nothing with a malformed pattern', () => {
    expect(matchGlob('ab\\', 'ab\\')).toBe(false);
  });
});

describe('parseHelmignore', () => {
  it('skips comments and blank lines, trims, and appends helm’s templates/.?* rule', () => {
    // Act
    const rules = parseHelmignore('# comment\n\n  *.bak  \r\n\t/docs/\n!keep.txt\nsub/*.md\n\\#hash\n');
    // Assess
    expect(rules.map((r) => [r.line, r.negate, r.dirOnly, r.scope, r.glob])).toEqual([
      [3, false, false, 'name', '*.bak'],
      [4, false, true, 'path', 'docs'],
      [5, true, false, 'name', 'keep.txt'],
      [6, false, false, 'path', 'sub/*.md'],
      [7, false, false, 'name', '\\#hash'],
      [0, false, false, 'path', 'templates/.?*'],
    ]);
  });

  it('drops a byte-order mark that starts the file, and keeps one anywhere else', () => {
    expect(parseHelmignore('\uFEFF*.md\n\uFEFF*.txt\n*.yaml\uFEFF\n').map((r) => r.glob)).toEqual([
      '*.md',
      '\uFEFF*.txt',
      '*.yaml\uFEFF',
      'templates/.?*',
    ]);
  });

  it('trims what Go counts as space (U+0085 included)', () => {
    expect(parseHelmignore('\u0085*.md\u00a0\n')[0]?.glob).toBe('*.md');
  });

  it.each([
    [
      'a double star',
      '# c\n*.bak\n**/*.md\n',
      /deploy\/\.helmignore line 3: "\*\*\/\*\.md": helm does not support "\*\*"/,
    ],
    ['a double star in a negation', '!docs/**\n', /line 1: "!docs\/\*\*": helm does not support/],
    ['an unclosed class', '*.txt\nfile[\n', /line 2: "file\[" is not a valid pattern/],
    ['a trailing escape', 'file\\\n', /line 1: "file\\" is not a valid pattern/],
    ['a line longer than helm reads', `${'a'.repeat(65536)}\n`, /line 1: longer than helm reads/],
  ])('refuses %s, naming the file, the field and the line', (_what, text, message) => {
    // Act
    const act = () => parseHelmignore(text, 'deploy/.helmignore', 'spec.source.chart');
    // Assess
    expect(act).toThrow(ValidationError);
    expect(act).toThrow(message);
    expect(act).toThrow(/^spec\.source\.chart: /);
  });

  it('reads a line just under helm’s limit', () => {
    expect(parseHelmignore(`${'a'.repeat(65535)}\n`)).toHaveLength(2);
  });
});

describe('isIgnored', () => {
  type Case = [rules: string, path: string, isDir: boolean, ignored: boolean];
  it.each<Case>([
    // base-name rules apply at any depth
    ['*.tgz', 'x.tgz', false, true],
    ['*.tgz', 'charts/dep-0.1.0.tgz', false, true],
    ['README.md', 'charts/sub/README.md', false, true],
    // a leading / roots the rule: only the chart's top level
    ['/*.tgz', 'x.tgz', false, true],
    ['/*.tgz', 'charts/dep-0.1.0.tgz', false, false],
    ['/README.md', 'charts/sub/README.md', false, false],
    // a / inside makes the rule structural, against the whole relative path
    ['charts/*.tgz', 'charts/dep-0.1.0.tgz', false, true],
    ['charts/*.tgz', 'sub/charts/dep-0.1.0.tgz', false, false],
    ['docs/*', 'docs/api', true, true],
    ['docs/*', 'docs/api/ref.md', false, false],
    // a trailing / limits the rule to directories
    ['build/', 'build', true, true],
    ['build/', 'build', false, false],
    ['build/', 'src/build', true, true],
    ['/build/', 'src/build', true, false],
    // the built-in rule: hidden entries directly under templates/
    ['', 'templates/.hidden.yaml', false, true],
    ['', 'templates/.cache', true, true],
    ['', 'charts/sub/templates/.hidden.yaml', false, false],
    ['', '.hidden', false, false],
    ['', '.git', true, false],
    // negation: a path the ! rule does not match is ignored; a path it matches goes on to the
    // next rule. It never brings back what an earlier rule ignored.
    ['*.txt\n!keep.txt', 'keep.txt', false, true],
    ['*.txt\n!keep.txt', 'drop.txt', false, true],
    ['*.txt\n!keep.txt', 'Chart.yaml', false, true],
    ['*.txt\n!keep.txt', 'templates', true, true],
    ['!keep.txt\n*.txt', 'keep.txt', false, true],
    ['!keep.txt', 'keep.txt', false, false],
    ['!*\n*.md', 'README.md', false, true],
    ['!*\n*.md', 'values.yaml', false, false],
    ['*.md\n!*', 'README.md', false, true],
    ['*.md\n!*', 'values.yaml', false, false],
    ['!*.*', 'templates', true, true],
    ['!*.*', '.git', true, false],
    ['!*.*', 'values.yaml', false, false],
    // a directory-only negation ignores every file
    ['!templates/', 'Chart.yaml', false, true],
    ['!templates/', 'templates', true, false],
    // escapes make special characters literal
    ['\\#hash.txt', 'files/#hash.txt', false, true],
    ['#hash.txt', 'files/#hash.txt', false, false],
    ['\\!bang.txt', 'files/!bang.txt', false, true],
    ['files/a\\[1\\].txt', 'files/a[1].txt', false, true],
    ['files/q\\?.txt', 'files/qx.txt', false, false],
    // degenerate lines
    ['/', 'templates', true, false],
    ['!', 'Chart.yaml', false, true],
    // an escape before the trailing / is left dangling once the / is dropped: matches nothing
    ['docs\\/', 'docs', true, false],
  ])('%j: %s (directory: %s) ignored: %s', (rules, path, isDir, ignored) => {
    expect(isIgnored(parseHelmignore(rules), path, isDir)).toBe(ignored);
  });

  it('never ignores the chart directory itself', () => {
    expect(isIgnored(parseHelmignore('*\n!x'), '', true)).toBe(false);
  });
});
