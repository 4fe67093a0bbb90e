/**
 * Server-side apply's field ownership, as read from `metadata.managedFields`: each entry's
 * FieldsV1 tree (`{"f:spec":{"f:replicas":{}}}`, keyed list items as `k:{"name":"web"}`, set
 * members as `v:"x"`, a `.` child meaning the node itself is owned) decoded into a trie that can
 * answer "who owns this path" and "what kind of list lives here". Pure.
 */

/** One node of a decoded FieldsV1 tree. */
export interface FieldNode {
  /** The node itself is owned (a leaf, or a `.` entry on a node with children). */
  readonly member: boolean;
  readonly children: ReadonlyMap<string, FieldNode>;
}

/** One `managedFields` entry, decoded. */
export interface ManagedEntry {
  readonly manager: string;
  readonly operation: string;
  readonly subresource?: string;
  readonly fields: FieldNode;
}

const EMPTY: FieldNode = { member: false, children: new Map() };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Decode one FieldsV1 tree (anything malformed decodes to what could be read). */
export function decodeFieldsV1(tree: unknown): FieldNode {
  if (!isRecord(tree)) return EMPTY;
  const children = new Map<string, FieldNode>();
  for (const [key, value] of Object.entries(tree)) {
    if (key === '.') continue;
    children.set(key, decodeFieldsV1(value));
  }
  const member = children.size === 0 || tree['.'] !== undefined;
  return { member, children };
}

/** The entries of an object's `metadata.managedFields`, status subresource entries left out. */
export function managedEntries(object: { metadata?: unknown } | undefined): ManagedEntry[] {
  const metadata = isRecord(object?.metadata) ? object.metadata : undefined;
  const list = Array.isArray(metadata?.managedFields) ? metadata.managedFields : [];
  const out: ManagedEntry[] = [];
  for (const raw of list) {
    if (!isRecord(raw)) continue;
    const subresource = typeof raw.subresource === 'string' && raw.subresource ? raw.subresource : undefined;
    // Status is never drift: what controllers write through /status is not compared.
    if (subresource === 'status') continue;
    out.push({
      manager: typeof raw.manager === 'string' ? raw.manager : '',
      operation: typeof raw.operation === 'string' ? raw.operation : '',
      ...(subresource ? { subresource } : {}),
      fields: decodeFieldsV1(raw.fieldsV1),
    });
  }
  return out;
}

/** The node at `path` (FieldsV1 elements), or undefined. */
export function nodeAt(root: FieldNode, path: readonly string[]): FieldNode | undefined {
  let node: FieldNode | undefined = root;
  for (const element of path) {
    node = node.children.get(element);
    if (!node) return undefined;
  }
  return node;
}

/**
 * Whether the tree owns the value at `path`: the path itself is a member, or an ancestor is an
 * owned leaf (an atomic value holding everything below it). A keyed list item that is a member
 * with children only owns the item's existence, not its fields.
 */
export function owns(root: FieldNode, path: readonly string[]): boolean {
  let node: FieldNode = root;
  for (const element of path) {
    const next = node.children.get(element);
    if (!next) return false;
    if (next.member && next.children.size === 0) return true;
    node = next;
  }
  return node.member && path.length > 0;
}

/** Every owned leaf path of a tree (paths of FieldsV1 elements), in tree order. */
export function leafPaths(root: FieldNode): string[][] {
  const out: string[][] = [];
  const walk = (node: FieldNode, prefix: string[]) => {
    for (const [element, child] of node.children) {
      const path = [...prefix, element];
      if (child.children.size === 0) {
        if (child.member) out.push(path);
      } else walk(child, path);
    }
  };
  walk(root, []);
  return out;
}

/** Union of several trees: what any of them has (for learning the shape of lists). */
export function unionOf(roots: readonly FieldNode[]): FieldNode {
  if (roots.length === 0) return EMPTY;
  if (roots.length === 1) return roots[0] ?? EMPTY;
  const children = new Map<string, FieldNode[]>();
  for (const root of roots) {
    for (const [element, child] of root.children) {
      const list = children.get(element) ?? [];
      list.push(child);
      children.set(element, list);
    }
  }
  const merged = new Map<string, FieldNode>();
  for (const [element, list] of children) merged.set(element, unionOf(list));
  return { member: roots.some((r) => r.member), children: merged };
}

/** How a list is merged, as far as the trees tell. */
export type ListShape =
  | { readonly type: 'map'; readonly keys: readonly string[] }
  | { readonly type: 'set' }
  | { readonly type: 'atomic' }
  | { readonly type: 'unknown' };

/** The shape of the list at a node: keyed items (`k:`), set members (`v:`), or atomic. */
export function listShape(node: FieldNode | undefined): ListShape {
  if (!node) return { type: 'unknown' };
  for (const element of node.children.keys()) {
    if (element.startsWith('k:')) {
      const key = parseKey(element);
      if (key) return { type: 'map', keys: Object.keys(key).sort() };
    }
    if (element.startsWith('v:')) return { type: 'set' };
    if (element.startsWith('i:')) return { type: 'atomic' };
  }
  return node.member ? { type: 'atomic' } : { type: 'unknown' };
}

/** The key of a `k:{…}` element, or undefined when it is not one. */
export function parseKey(element: string): Record<string, unknown> | undefined {
  if (!element.startsWith('k:')) return undefined;
  try {
    const parsed: unknown = JSON.parse(element.slice(2));
    return isRecord(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The `k:` element for a key, fields sorted as the API server writes them. */
export function keyElement(key: Readonly<Record<string, unknown>>): string {
  const sorted = Object.fromEntries(
    Object.keys(key)
      .sort()
      .map((k) => [k, key[k]]),
  );
  return `k:${JSON.stringify(sorted)}`;
}
