/**
 * The bytes of received frames that wait to be handled (opened, parsed), all connections together
 * (issue 12, finding 2: four connections pinned 800 MB in frames queued behind their ClientHellos). Above
 * `HOSTILE.maxQueuedBytes` the connection that adds more stops being read (`ws.pause()`: TCP backpressure
 * holds the rest in the sender's buffers) until the total drains below three quarters of the cap.
 */
import { HOSTILE } from '../core/limits.ts';

export interface Pausable {
  pause(): void;
  resume(): void;
}

export class InboxBudget {
  private bytes = 0;
  private readonly paused = new Set<Pausable>();
  /** Times a connection was paused because the total was over the cap. */
  pauses = 0;
  /** Largest total seen (bytes). */
  peak = 0;

  constructor(readonly max: number = HOSTILE.maxQueuedBytes) {}

  get queued(): number {
    return this.bytes;
  }

  /** `n` bytes from `from` now wait; pauses `from` when the total is over the cap. */
  take(n: number, from: Pausable): void {
    this.bytes += n;
    if (this.bytes > this.peak) this.peak = this.bytes;
    if (this.bytes > this.max && !this.paused.has(from)) {
      this.paused.add(from);
      this.pauses++;
      from.pause();
    }
  }

  /** `n` bytes were handled (or dropped); resumes the paused connections once there is room. */
  give(n: number): void {
    this.bytes -= n;
    if (this.paused.size > 0 && this.bytes <= this.max * 0.75) {
      const all = [...this.paused];
      this.paused.clear();
      for (const p of all) p.resume();
    }
  }

  /** A connection closed: it is no longer waiting for room. */
  forget(from: Pausable): void {
    this.paused.delete(from);
  }
}
