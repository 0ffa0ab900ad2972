// Linearizable reads: every read that arrives while no ReadIndex round is being started joins
// the next round, so a burst of concurrent reads costs one heartbeat round, not one each.
// A read is served once the member has applied up to the index its round returned.

interface PendingRead {
  resolve(): void;
  reject(err: unknown): void;
}

interface Round {
  readonly context: string;
  readonly reads: PendingRead[];
  /** Set when the ReadState arrives. */
  index?: number;
  timer?: NodeJS.Timeout;
}

/** What the batcher needs from the member. */
export interface ReadIndexHost {
  /** Starts a ReadIndex round with this context; throws if it cannot (no leader). */
  requestReadIndex(context: string): void;
  /** The applied index right now. */
  appliedIndex(): number;
  /** Asks the member to run its loop soon (a round is waiting to be started). */
  wake(): void;
}

/** Batches linearizable reads into ReadIndex rounds. */
export class ReadIndexBatcher {
  private next: PendingRead[] = [];
  private readonly rounds = new Map<string, Round>();
  /** Rounds whose index is known but not yet applied, in index order. */
  private waitingApply: Round[] = [];
  private seq = 0;

  constructor(
    private readonly host: ReadIndexHost,
    private readonly prefix: string,
    private readonly timeoutMs: number,
    private readonly timeoutError: () => unknown,
  ) {}

  /** Resolves when a read issued now may be served linearizably from the local state. */
  barrier(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.next.push({ resolve, reject });
      this.host.wake();
    });
  }

  /** Starts a round for the reads that queued up (called from the member's loop turn). */
  flush(): void {
    if (this.next.length === 0) return;
    const reads = this.next;
    this.next = [];
    const context = `${this.prefix}-${++this.seq}`;
    try {
      this.host.requestReadIndex(context);
    } catch (err) {
      for (const r of reads) r.reject(err);
      return;
    }
    const round: Round = { context, reads };
    round.timer = setTimeout(() => {
      if (!this.rounds.delete(context)) return;
      this.waitingApply = this.waitingApply.filter((r) => r !== round);
      for (const r of reads) r.reject(this.timeoutError());
    }, this.timeoutMs);
    this.rounds.set(context, round);
  }

  /** A ReadState arrived; serves its reads now or once applied catches up. */
  onReadState(context: string, index: number): void {
    const round = this.rounds.get(context);
    if (!round || round.index !== undefined) return;
    round.index = index;
    this.waitingApply.push(round);
    this.waitingApply.sort((a, b) => a.index! - b.index!);
    this.onApplied(this.host.appliedIndex());
  }

  /** The member applied up to `applied`: serve every round that waited for it. */
  onApplied(applied: number): void {
    while (this.waitingApply.length > 0 && this.waitingApply[0]!.index! <= applied) {
      const round = this.waitingApply.shift()!;
      this.rounds.delete(round.context);
      clearTimeout(round.timer);
      for (const r of round.reads) r.resolve();
    }
  }

  /** Fails every pending read (leader change or stop): their rounds may never be answered. */
  failAll(makeError: () => unknown): void {
    for (const r of this.next) r.reject(makeError());
    this.next = [];
    for (const round of this.rounds.values()) {
      clearTimeout(round.timer);
      for (const r of round.reads) r.reject(makeError());
    }
    this.rounds.clear();
    this.waitingApply = [];
  }

  /** Fails only rounds still waiting for their ReadState (their request may have died with a leader). */
  failUnanswered(makeError: () => unknown): void {
    for (const [ctx, round] of this.rounds) {
      if (round.index !== undefined) continue;
      this.rounds.delete(ctx);
      clearTimeout(round.timer);
      for (const r of round.reads) r.reject(makeError());
    }
  }

  /** True when reads are queued for a round not yet started. */
  get hasQueued(): boolean {
    return this.next.length > 0;
  }
}
