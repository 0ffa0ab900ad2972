// An in-memory B+tree from string keys to values, ordered by JavaScript string comparison.
// The MVCC store keys it by latin1-decoded key bytes, so string order is byte order.
// Leaves are doubly linked so range scans walk sideways without revisiting the upper levels.
// Deletes never merge underfull nodes (they only drop empty ones): the store deletes keys
// only when compaction removes dead history, and a lookup stays O(log n) either way.

const LEAF_MAX = 64;
const BRANCH_MAX = 64;

interface Leaf<V> {
  readonly leaf: true;
  keys: string[];
  vals: V[];
  prev: Leaf<V> | null;
  next: Leaf<V> | null;
}

interface Branch<V> {
  readonly leaf: false;
  /** keys[i] separates children[i] (keys < keys[i]) from children[i + 1] (keys >= keys[i]). */
  keys: string[];
  children: Node<V>[];
}

type Node<V> = Leaf<V> | Branch<V>;

/** Index of the first element of `arr` that is >= key (arr.length if none). */
function lowerBound(arr: readonly string[], key: string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first element of `arr` that is > key (arr.length if none). */
function upperBound(arr: readonly string[], key: string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function newLeaf<V>(): Leaf<V> {
  return { leaf: true, keys: [], vals: [], prev: null, next: null };
}

/** An ordered map with O(log n) insert, delete and seek. Not safe to mutate while a scan callback runs. */
export class OrderedIndex<V> {
  private root: Node<V> = newLeaf<V>();
  private count = 0;

  /** Number of keys held. */
  get size(): number {
    return this.count;
  }

  /** The value stored under key, if any. */
  get(key: string): V | undefined {
    const leaf = this.findLeaf(key);
    const i = lowerBound(leaf.keys, key);
    return i < leaf.keys.length && leaf.keys[i] === key ? leaf.vals[i] : undefined;
  }

  /** Inserts or replaces the value under key. */
  set(key: string, value: V): void {
    this.upsert(key, () => value);
  }

  /** Stores make(current value or undefined) under key, with one descent of the tree. */
  upsert(key: string, make: (old: V | undefined) => V): void {
    const path: Branch<V>[] = [];
    const slots: number[] = [];
    let node = this.root;
    while (!node.leaf) {
      const i = upperBound(node.keys, key);
      path.push(node);
      slots.push(i);
      node = node.children[i]!;
    }
    const leaf = node;
    const i = lowerBound(leaf.keys, key);
    if (i < leaf.keys.length && leaf.keys[i] === key) {
      leaf.vals[i] = make(leaf.vals[i]);
      return;
    }
    const value = make(undefined);
    this.count++;
    if (i === leaf.keys.length) {
      leaf.keys.push(key);
      leaf.vals.push(value);
    } else {
      leaf.keys.splice(i, 0, key);
      leaf.vals.splice(i, 0, value);
    }
    if (leaf.keys.length <= LEAF_MAX) return;

    // Appending to the rightmost leaf (ordered bulk loads) splits off only the new key,
    // so sequential inserts leave full leaves instead of half-empty ones.
    const appended = i === leaf.keys.length - 1 && leaf.next === null;
    const cut = appended ? leaf.keys.length - 1 : leaf.keys.length >>> 1;
    const right: Leaf<V> = {
      leaf: true,
      keys: leaf.keys.splice(cut),
      vals: leaf.vals.splice(cut),
      prev: leaf,
      next: leaf.next,
    };
    if (leaf.next) leaf.next.prev = right;
    leaf.next = right;
    this.insertSeparator(path, slots, right.keys[0]!, right);
  }

  /** Removes key; returns whether it was present. */
  delete(key: string): boolean {
    const path: Branch<V>[] = [];
    const slots: number[] = [];
    let node = this.root;
    while (!node.leaf) {
      const i = upperBound(node.keys, key);
      path.push(node);
      slots.push(i);
      node = node.children[i]!;
    }
    const leaf = node;
    const i = lowerBound(leaf.keys, key);
    if (i >= leaf.keys.length || leaf.keys[i] !== key) return false;
    leaf.keys.splice(i, 1);
    leaf.vals.splice(i, 1);
    this.count--;
    if (leaf.keys.length > 0 || path.length === 0) return true;

    if (leaf.prev) leaf.prev.next = leaf.next;
    if (leaf.next) leaf.next.prev = leaf.prev;
    // Remove the empty child from its parent, and any parent left without children.
    for (let depth = path.length - 1; depth >= 0; depth--) {
      const parent = path[depth]!;
      const slot = slots[depth]!;
      parent.children.splice(slot, 1);
      if (parent.keys.length > 0) parent.keys.splice(slot > 0 ? slot - 1 : 0, 1);
      if (parent.children.length > 0) break;
    }
    while (!this.root.leaf && this.root.children.length === 1) this.root = this.root.children[0]!;
    if (!this.root.leaf && this.root.children.length === 0) this.root = newLeaf<V>();
    return true;
  }

  /**
   * Calls visit(key, value) for keys in [start, end) in ascending order (end null: no upper
   * bound; exclusive false: start itself is skipped) until visit returns false.
   */
  scan(start: string, end: string | null, visit: (key: string, value: V) => boolean, exclusiveStart = false): void {
    let leaf: Leaf<V> | null = this.findLeaf(start);
    let i = exclusiveStart ? upperBound(leaf.keys, start) : lowerBound(leaf.keys, start);
    while (leaf) {
      const keys = leaf.keys;
      const vals = leaf.vals;
      for (; i < keys.length; i++) {
        const k = keys[i]!;
        if (end !== null && k >= end) return;
        if (!visit(k, vals[i]!)) return;
      }
      leaf = leaf.next;
      i = 0;
    }
  }

  /** The smallest key, or undefined when empty. */
  firstKey(): string | undefined {
    let node = this.root;
    while (!node.leaf) node = node.children[0]!;
    let leaf: Leaf<V> | null = node;
    while (leaf && leaf.keys.length === 0) leaf = leaf.next;
    return leaf?.keys[0];
  }

  private findLeaf(key: string): Leaf<V> {
    let node = this.root;
    while (!node.leaf) node = node.children[upperBound(node.keys, key)]!;
    return node;
  }

  private insertSeparator(path: Branch<V>[], slots: number[], separator: string, right: Node<V>): void {
    let sep = separator;
    let newChild: Node<V> = right;
    for (let depth = path.length - 1; depth >= 0; depth--) {
      const parent = path[depth]!;
      const slot = slots[depth]!;
      parent.keys.splice(slot, 0, sep);
      parent.children.splice(slot + 1, 0, newChild);
      if (parent.children.length <= BRANCH_MAX) return;
      const mid = parent.keys.length >>> 1;
      const upKey = parent.keys[mid]!;
      const sibling: Branch<V> = {
        leaf: false,
        keys: parent.keys.splice(mid + 1),
        children: parent.children.splice(mid + 1),
      };
      parent.keys.length = mid;
      sep = upKey;
      newChild = sibling;
    }
    this.root = { leaf: false, keys: [sep], children: [this.root, newChild] };
  }
}
