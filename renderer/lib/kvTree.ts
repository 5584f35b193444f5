// Pure. The configuration namespace as a tree: keys split on '/', folders for shared prefixes,
// and the flat list of visible rows for a given set of expanded folders.

/** KvTreeNode is one path segment. A node can be a key and a folder at once (`/a` and `/a/b`). */
export interface KvTreeNode {
  /** The path up to and including this segment, e.g. `/config/billing`. */
  readonly path: string;
  readonly segment: string;
  readonly depth: number;
  /** Whether `path` itself is a key. */
  readonly isKey: boolean;
  readonly children: readonly KvTreeNode[];
  /** Keys at or below this node. */
  readonly keyCount: number;
}

interface MutableNode {
  path: string;
  segment: string;
  depth: number;
  isKey: boolean;
  children: Map<string, MutableNode>;
}

function freeze(node: MutableNode): KvTreeNode {
  const children = [...node.children.values()].sort((a, b) => (a.segment < b.segment ? -1 : a.segment > b.segment ? 1 : 0)).map(freeze);
  const keyCount = (node.isKey ? 1 : 0) + children.reduce((n, c) => n + c.keyCount, 0);
  return { path: node.path, segment: node.segment, depth: node.depth, isKey: node.isKey, children, keyCount };
}

/** buildKvTree arranges keys (absolute paths such as `/config/billing/db.url`) into a tree. */
export function buildKvTree(keys: Iterable<string>): KvTreeNode[] {
  const root: MutableNode = { path: '', segment: '', depth: -1, isKey: false, children: new Map() };
  for (const key of keys) {
    const segments = key.split('/').filter((s) => s !== '');
    let node = root;
    let path = '';
    for (const segment of segments) {
      path = `${path}/${segment}`;
      let child = node.children.get(segment);
      if (!child) {
        child = { path, segment, depth: node.depth + 1, isKey: false, children: new Map() };
        node.children.set(segment, child);
      }
      node = child;
    }
    if (node !== root) node.isKey = true;
  }
  return freeze(root).children as KvTreeNode[];
}

/** KvTreeRow is a node as the tree view draws it. */
export interface KvTreeRow {
  readonly node: KvTreeNode;
  readonly expanded: boolean;
  readonly hasChildren: boolean;
}

/** visibleRows flattens the tree, descending only into expanded folders. */
export function visibleRows(nodes: readonly KvTreeNode[], expanded: ReadonlySet<string>): KvTreeRow[] {
  const rows: KvTreeRow[] = [];
  const walk = (list: readonly KvTreeNode[]): void => {
    for (const node of list) {
      const hasChildren = node.children.length > 0;
      const open = hasChildren && expanded.has(node.path);
      rows.push({ node, expanded: open, hasChildren });
      if (open) walk(node.children);
    }
  };
  walk(nodes);
  return rows;
}

/** ancestorsOf lists the folder paths above a key, to expand the tree down to it. */
export function ancestorsOf(key: string): string[] {
  const segments = key.split('/').filter((s) => s !== '');
  const out: string[] = [];
  let path = '';
  for (const segment of segments.slice(0, -1)) {
    path = `${path}/${segment}`;
    out.push(path);
  }
  return out;
}

/** KEY_PATTERN mirrors the cluster's key rule: `/a/b/c`, segments of letters, digits and . _ @ : + = -. */
const KEY_PATTERN = /^(\/[A-Za-z0-9._@:+=-]+)+$/;
/** KEY_MAX_CHARS mirrors the cluster's key length limit. */
export const KEY_MAX_CHARS = 512;

/** keyProblem says what is wrong with a new key, in the cluster's own terms, or null. */
export function keyProblem(key: string): string | null {
  if (key === '') return 'give the key a name, e.g. /config/app/feature.flag';
  if (key.length > KEY_MAX_CHARS) return `at most ${KEY_MAX_CHARS} characters`;
  if (!KEY_PATTERN.test(key)) return 'a key looks like /a/b/c: segments of letters, digits and . _ @ : + = -';
  return null;
}
