// When raft messages cross between this member and its peers. Incoming messages wait while a
// Ready is being handled: a leader must not count an ack toward a commit before its own copy is
// durable, and raft sees the network only between Readies, as with a synchronous loop. Outgoing
// Commit hints wait briefly for an App to the same follower to carry the commit instead, and
// snapshots go out on their own connection.
import { MessageType, type Message } from '../raft/index.js';
import type { PeerTransport } from '../transport/peer-transport.js';

/** How long a Commit message may wait for an App to the same follower to carry it instead. */
export const COMMIT_DELAY_MS = 5;

/** What the member does with the traffic. */
export interface PeerTrafficHost {
  /** Steps messages from peers into raft and runs the loop. */
  deliver(messages: readonly Message[]): void;
  /** Streams the snapshot a Snap message announces. */
  sendSnapshot(m: Message): void;
}

/** One member's raft message flow to and from its peers. */
export class PeerTraffic {
  private holding = false;
  private held: Message[] = [];
  private readonly deferredCommits = new Map<string, Message>();
  private commitTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly transport: PeerTransport,
    private readonly host: PeerTrafficHost,
  ) {}

  /** Messages from the network: delivered now, or kept until the Ready being handled is done. */
  receive(messages: readonly Message[]): void {
    if (this.closed) return;
    if (this.holding) {
      for (const m of messages) this.held.push(m);
      return;
    }
    this.host.deliver(messages);
  }

  /** Starts or stops keeping incoming messages (around the handling of one Ready). */
  setHolding(on: boolean): void {
    this.holding = on;
  }

  /** Delivers what arrived while holding. */
  deliverHeld(): void {
    if (this.held.length === 0 || this.holding) return;
    const held = this.held;
    this.held = [];
    this.host.deliver(held);
  }

  /** Sends a Ready's messages: plain ones in one batch per peer, Commits deferred, snapshots streamed. */
  send(messages: readonly Message[]): void {
    let plain: Message[] | undefined;
    for (const m of messages) {
      if (m.type === MessageType.Snap) {
        this.host.sendSnapshot(m);
      } else if (m.type === MessageType.Commit) {
        this.deferCommit(m);
      } else {
        // An App carries the commit index too, and covers everything a Commit sent before it would.
        if (m.type === MessageType.App) this.deferredCommits.delete(m.to);
        (plain ??= []).push(m);
      }
    }
    if (plain && !this.closed) this.transport.send(plain);
  }

  /**
   * Holds a Commit for up to COMMIT_DELAY_MS: under load the next Ready's App to that follower
   * carries the commit anyway, and the Commit is dropped (at 1 in flight that spares each put two
   * peer writes, two follower wake-ups and two WAL writes). A Commit is a hint that may be lost
   * like any message (heartbeats repeat the commit), so holding or dropping it is always safe.
   */
  private deferCommit(m: Message): void {
    this.deferredCommits.set(m.to, m);
    this.commitTimer ??= setTimeout(() => {
      this.commitTimer = undefined;
      const due = [...this.deferredCommits.values()];
      this.deferredCommits.clear();
      if (!this.closed && due.length > 0) this.transport.send(due);
    }, COMMIT_DELAY_MS);
  }

  /** Drops held and deferred messages; nothing is sent or delivered afterwards. */
  close(): void {
    this.closed = true;
    if (this.commitTimer) clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    this.deferredCommits.clear();
    this.held = [];
  }
}
