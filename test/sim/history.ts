// The record of what clients asked and what they were told, in simulated event order.
// Times are a global event counter, so no two events share a time.

/** One client operation on a single-key register. */
export interface Operation {
  readonly id: number;
  readonly client: number;
  readonly key: string;
  readonly kind: 'put' | 'get';
  /** put: the value written. get: the value read (null when the key was absent); set on return. */
  value: string | null;
  /** When the client sent the request. */
  readonly call: number;
  /** When the client got the answer; Infinity when the outcome is unknown (a put that timed out). */
  ret: number;
}

/** Collects client operations; failed and timed-out reads are dropped (they tell nothing). */
export class HistoryRecorder {
  private clock = 0;
  private nextId = 0;
  private readonly open = new Map<number, Operation>();
  private readonly done: Operation[] = [];

  /** Records an invocation and returns its operation id. */
  invoke(client: number, kind: 'put' | 'get', key: string, value: string | null): number {
    const op: Operation = { id: this.nextId++, client, key, kind, value, call: this.clock++, ret: Infinity };
    this.open.set(op.id, op);
    return op.id;
  }

  /** Records a definite success; for a get, `value` is what was read. */
  ok(id: number, value?: string | null): void {
    const op = this.open.get(id);
    if (!op) return;
    this.open.delete(id);
    op.ret = this.clock++;
    if (op.kind === 'get') op.value = value ?? null;
    this.done.push(op);
  }

  /** Records a definite failure: the operation certainly took no effect, so it leaves the history. */
  fail(id: number): void {
    this.open.delete(id);
  }

  /** Records a timeout: a put may or may not have happened; a get is dropped. */
  timeout(id: number): void {
    const op = this.open.get(id);
    if (!op) return;
    this.open.delete(id);
    if (op.kind === 'put') this.done.push(op);
  }

  /** Whether an operation is still waiting for its answer. */
  isOpen(id: number): boolean {
    return this.open.has(id);
  }

  /** All finished operations plus every still-open put (as unknown), in call order. */
  operations(): Operation[] {
    const all = this.done.slice();
    for (const op of this.open.values()) if (op.kind === 'put') all.push(op);
    return all.sort((a, b) => a.call - b.call);
  }
}
