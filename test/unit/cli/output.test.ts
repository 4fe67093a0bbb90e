import { describe, expect, it } from 'vitest';
import { ago, formatLabels, parseFormat, renderTable, wrapText } from '../../../cli/output.ts';
import { progressLine } from '../../../cli/progress.ts';

describe('renderTable', () => {
  it('pads columns to the widest cell and trims line ends', () => {
    const text = renderTable({
      headers: ['NAME', 'STATUS', 'REASON'],
      rows: [
        ['sim-001', 'Succeeded', undefined],
        ['a', 'Failed', 'cluster "a" is unreachable'],
      ],
    });
    expect(text).toBe(
      'NAME      STATUS      REASON\nsim-001   Succeeded\na         Failed      cluster "a" is unreachable\n',
    );
  });
});

describe('renderTable with a width', () => {
  const reason =
    'Deployment shop/web: admission webhook "policy.example.com" denied the request: containers must not run as root';

  it('wraps the last column under itself and keeps every word', () => {
    // Act
    const text = renderTable({
      headers: ['CLUSTER', 'FAILURE', 'REASON'],
      rows: [
        ['sim-001', '', ''],
        ['sim-002', 'Rejected', reason],
      ],
      width: 60,
    });
    // Assess
    const lines = text.trimEnd().split('\n');
    expect(lines.every((l) => l.length <= 60)).toBe(true);
    expect(lines[2]).toMatch(/^sim-002 {3}Rejected {3}Deployment shop\/web:/);
    const column = lines[0]?.indexOf('REASON') ?? -1;
    for (const line of lines.slice(3)) {
      expect(line.slice(0, column).trim()).toBe('');
      expect(line.charAt(column)).not.toBe(' ');
    }
    expect(
      lines
        .slice(2)
        .map((l) => l.slice(column))
        .join(' '),
    ).toBe(reason);
  });

  it('gives the last column room on a narrow terminal rather than cutting it', () => {
    const text = renderTable({ headers: ['CLUSTER', 'REASON'], rows: [['sim-002', reason]], width: 10 });
    const lines = text.trimEnd().split('\n');
    const column = lines[0]?.indexOf('REASON') ?? -1;
    expect(lines.slice(1).every((l) => l.length - column <= 24)).toBe(true);
    expect(
      lines
        .slice(1)
        .map((l) => l.slice(column))
        .join(' '),
    ).toBe(reason);
  });

  it('starts a new indented line at each line break, with or without a width', () => {
    const rows = [['a', 'first line\nsecond line']];
    expect(renderTable({ headers: ['X', 'REASON'], rows })).toBe(
      'X   REASON\na   first line\n    second line\n',
    );
    expect(renderTable({ headers: ['X', 'REASON'], rows, width: 80 })).toBe(
      'X   REASON\na   first line\n    second line\n',
    );
  });
});

describe('wrapText', () => {
  it.each([
    ['one two three', 7, ['one two', 'three']],
    ['abcdefghij', 4, ['abcd', 'efgh', 'ij']],
    ['a  b', 10, ['a b']],
    ['', 10, ['']],
  ])('wraps %j at %i', (text, width, lines) => {
    expect(wrapText(text, width)).toEqual(lines);
  });
});

describe('parseFormat', () => {
  it('accepts table, json and yaml only', () => {
    expect(parseFormat(undefined)).toBe('table');
    expect(parseFormat('yaml')).toBe('yaml');
    expect(() => parseFormat('xml')).toThrow('-o xml: expected one of table, json, yaml');
  });
});

describe('formatting', () => {
  it('formats labels, ages and progress', () => {
    expect(formatLabels({ env: 'prod', tier: 'web' })).toBe('env=prod,tier=web');
    expect(formatLabels({})).toBe('<none>');
    expect(ago('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:03:10Z'))).toBe('3m');
    expect(
      progressLine({ total: 10, pending: 2, progressing: 3, succeeded: 4, failed: 1, skipped: 0 }, 'Running'),
    ).toBe('[███████████████░░░░░░░░░░░░░░░] 5/10 · 4 succeeded · 1 failed · 5 to go · Running');
  });
});
