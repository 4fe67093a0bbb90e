import { describe, expect, it } from 'vitest';
import { ago, formatLabels, parseFormat, renderTable } from '../../../cli/output.ts';
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
