/**
 * The pieces under the diff: quantities, value equality with the server's normalization, field
 * paths and ignore patterns, FieldsV1 decoding.
 */
import { describe, expect, it } from 'vitest';
import { decodeFieldsV1, leafPaths, listShape, nodeAt, owns } from '../../../domain/drift/fields-v1.ts';
import { isZeroValue, normalizeDesired, sameValue } from '../../../domain/drift/normalize.ts';
import { formatPath, parsePattern, patternCovers, patternProblem } from '../../../domain/drift/paths.ts';
import { parseQuantity } from '../../../domain/quantity.ts';

describe('parseQuantity', () => {
  it.each([
    ['1', 1],
    ['1000m', 1],
    ['500m', 0.5],
    ['0.5', 0.5],
    ['1Gi', 2 ** 30],
    ['1024Mi', 2 ** 30],
    ['1k', 1000],
    ['1e3', 1000],
    ['2M', 2e6],
    [3, 3],
  ])('%s is %d', (text, value) => {
    expect(parseQuantity(text)).toBe(value);
  });

  it.each(['abc', '1Xi', '', '1.2.3', 'm'])('%s is not a quantity', (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });
});

describe('sameValue', () => {
  it.each([
    { d: '1000m', l: '1', fields: ['limits', 'cpu'], same: true },
    { d: '1000m', l: '1', fields: ['data', 'cpu'], same: false },
    { d: '1024Mi', l: '1Gi', fields: ['storage'], same: true },
    { d: '2Gi', l: '1Gi', fields: ['requests', 'memory'], same: false },
    { d: 8080, l: '8080', fields: ['targetPort'], same: true },
    { d: 8080, l: '8080', fields: ['value'], same: false },
    { d: false, l: undefined, fields: ['hostNetwork'], same: true },
    { d: true, l: undefined, fields: ['hostNetwork'], same: false },
    { d: {}, l: undefined, fields: ['resources'], same: true },
    { d: [], l: undefined, fields: ['args'], same: true },
    { d: ['a', 'b'], l: ['b', 'a'], fields: ['args'], same: false },
    { d: { a: 1 }, l: { a: 1, b: 2 }, fields: ['x'], same: true },
    { d: 'x', l: 'y', fields: ['x'], same: false },
  ])('$d vs $l at $fields: $same', ({ d, l, fields, same }) => {
    expect(sameValue(d, l, fields)).toBe(same);
  });

  it('counts zero values as what the server omits', () => {
    expect([false, 0, '', [], {}].every(isZeroValue)).toBe(true);
    expect([true, 1, 'x', [0], { a: 1 }].some(isZeroValue)).toBe(false);
  });

  it("folds a Secret's stringData into base64 data, leaving other kinds alone", () => {
    const secret = normalizeDesired({ kind: 'Secret', stringData: { p: 'héllo' }, data: { q: 'eA==' } });
    expect(secret).toEqual({
      kind: 'Secret',
      data: { p: Buffer.from('héllo').toString('base64'), q: 'eA==' },
    });
    const config = { kind: 'ConfigMap', stringData: { p: 'x' } };
    expect(normalizeDesired(config)).toBe(config);
  });
});

describe('field paths and ignore patterns', () => {
  it('formats plain fields, quoted keys, keyed items and set members', () => {
    expect(formatPath([{ field: 'metadata' }, { field: 'annotations' }, { field: 'example.com/x' }])).toBe(
      'metadata.annotations["example.com/x"]',
    );
    expect(formatPath([{ field: 'spec' }, { field: 'ports' }, { key: { protocol: 'TCP', port: 80 } }])).toBe(
      'spec.ports[port=80,protocol=TCP]',
    );
    expect(formatPath([{ field: 'finalizers' }, { member: 'a/b' }])).toBe('finalizers[="a/b"]');
  });

  it.each([
    ['spec.replicas', [{ field: 'spec' }, { field: 'replicas' }], true],
    ['spec', [{ field: 'spec' }, { field: 'replicas' }], true],
    ['.spec.replicas', [{ field: 'spec' }, { field: 'replicas' }], true],
    ['/spec/replicas', [{ field: 'spec' }, { field: 'replicas' }], true],
    ['spec.replicas', [{ field: 'spec' }, { field: 'paused' }], false],
    [
      'spec.containers[*].image',
      [{ field: 'spec' }, { field: 'containers' }, { key: { name: 'a' } }, { field: 'image' }],
      true,
    ],
    [
      'spec.containers[name=a].image',
      [{ field: 'spec' }, { field: 'containers' }, { key: { name: 'a' } }, { field: 'image' }],
      true,
    ],
    [
      'spec.containers[name=b].image',
      [{ field: 'spec' }, { field: 'containers' }, { key: { name: 'a' } }, { field: 'image' }],
      false,
    ],
    [
      'spec.ports[port=80]',
      [{ field: 'spec' }, { field: 'ports' }, { key: { port: 80, protocol: 'TCP' } }],
      true,
    ],
    [
      'metadata.annotations["a.io/b"]',
      [{ field: 'metadata' }, { field: 'annotations' }, { field: 'a.io/b' }],
      true,
    ],
    ['data.*', [{ field: 'data' }, { field: 'anything' }], true],
  ] as const)('%s covers %j: %s', (pattern, path, covered) => {
    expect(patternCovers(parsePattern(pattern), path)).toBe(covered);
  });

  it.each([
    ['', 'must not be empty'],
    ['spec..replicas', 'empty field name'],
    ['spec.', 'ends with "."'],
    ['spec.containers[name=web', 'unclosed "["'],
    ['spec.containers[web]', 'must be [*]'],
    ['/spec/containers/0/image', 'list indexes are not stable'],
  ])('rejects %j: %s', (pattern, message) => {
    expect(patternProblem(pattern)).toContain(message);
  });
});

describe('FieldsV1', () => {
  const tree = decodeFieldsV1({
    'f:spec': {
      'f:replicas': {},
      'f:selector': {},
      'f:containers': { 'k:{"name":"web"}': { '.': {}, 'f:image': {}, 'f:name': {} } },
      'f:finalizers': { 'v:"a"': {} },
    },
  });

  it('knows owned paths; a keyed item with fields owns its existence, not every field', () => {
    expect(owns(tree, ['f:spec', 'f:replicas'])).toBe(true);
    expect(owns(tree, ['f:spec', 'f:selector', 'f:matchLabels', 'f:app'])).toBe(true);
    expect(owns(tree, ['f:spec', 'f:containers', 'k:{"name":"web"}', 'f:image'])).toBe(true);
    expect(owns(tree, ['f:spec', 'f:containers', 'k:{"name":"web"}', 'f:args'])).toBe(false);
    expect(owns(tree, ['f:spec', 'f:paused'])).toBe(false);
  });

  it('tells keyed lists, sets and atomic values apart', () => {
    expect(listShape(nodeAt(tree, ['f:spec', 'f:containers']))).toEqual({ type: 'map', keys: ['name'] });
    expect(listShape(nodeAt(tree, ['f:spec', 'f:finalizers']))).toEqual({ type: 'set' });
    expect(listShape(nodeAt(tree, ['f:spec', 'f:selector']))).toEqual({ type: 'atomic' });
    expect(listShape(nodeAt(tree, ['f:spec', 'f:nothing']))).toEqual({ type: 'unknown' });
  });

  it('lists owned leaves', () => {
    expect(leafPaths(tree).map((p) => p.join(' '))).toEqual([
      'f:spec f:replicas',
      'f:spec f:selector',
      'f:spec f:containers k:{"name":"web"} f:image',
      'f:spec f:containers k:{"name":"web"} f:name',
      'f:spec f:finalizers v:"a"',
    ]);
  });
});
