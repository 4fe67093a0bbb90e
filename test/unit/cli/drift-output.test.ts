import { describe, expect, it } from 'vitest';
import { driftTable, summaryText } from '../../../cli/commands/drift.ts';
import type { DriftRecord } from '../../../domain/drift/record.ts';

const summary = { clusters: 1, inSync: 0, drifted: 1, unknown: 0, skipped: 0, objects: 1, fields: 1 };

function drifted(objects: number): DriftRecord {
  return {
    tenant: 'default',
    deployment: 'shop',
    cluster: 'edge-07',
    state: 'Drifted',
    objects: [
      {
        ref: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'settings' },
        state: 'changed',
        fields: [{ path: 'data.color', desired: '"blue"', live: '"red"' }],
        fieldCount: 1,
      },
    ],
    objectCount: objects,
    fieldCount: objects,
    checked: 12,
    executionId: 'e-1',
    scannedAt: '2026-01-01T00:00:00.000Z',
  };
}

describe('drift wording', () => {
  it.each([
    [summary, '1 cluster: 0 in sync, 1 drifted (1 path in 1 object)'],
    [
      { ...summary, clusters: 100, inSync: 95, drifted: 5, objects: 2, fields: 3, unknown: 1 },
      '100 clusters: 95 in sync, 5 drifted (3 paths in 2 objects), 1 unreadable',
    ],
    [{ ...summary, clusters: 3, inSync: 3, drifted: 0 }, '3 clusters: 3 in sync'],
  ])('summarizes %j as "%s"', (counts, text) => {
    expect(summaryText(counts)).toBe(text);
  });

  it.each([
    [2, '… 1 more object'],
    [4, '… 3 more objects'],
  ])('counts the objects a record left out (%i in all)', (objects, text) => {
    expect(driftTable([drifted(objects)])).toContain(text);
  });
});
