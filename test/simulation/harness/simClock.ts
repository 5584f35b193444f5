// Effectful only in virtual time. SimClock is the simulator's single source of time: a queue of
// events ordered by (time, insertion id), like VS Code's TimeTravelScheduler. Nothing runs until
// the driver pops an event, so a run is a pure function of the seed and the events scheduled.

import { assert } from '../../../core/util/assert.ts';

/** SimEvent is one scheduled callback. `node` names the node the event touches, for checkers. */
export interface SimEvent {
  readonly id: number;
  readonly time: number;
  /** A small integer naming the kind of event (see EventKind); hashed into the trace. */
  readonly kind: number;
  /** The index of the node the event touches, or -1 when it touches none in particular. */
  readonly node: number;
  readonly run: () => void;
  /** True once the event can no longer run: it was cancelled, or it already ran. */
  cancelled: boolean;
}

/**
 * EventKind classifies events for the trace hash and for statistics. Plain numbers (not strings)
 * keep hashing cheap on the hot path.
 */
export const EventKind = {
  tick: 1,
  deliver: 2,
  diskDone: 3,
  client: 4,
  nemesis: 5,
  phase: 6,
  test: 7,
  drain: 8,
  hold: 9,
} as const;

/**
 * SimClock orders events by time and, for equal times, by the order they were scheduled, so two
 * events scheduled for the same instant always run in the same order (determinism).
 */
export class SimClock {
  private heap: SimEvent[] = [];
  private nextId = 0;
  private current = 0;
  private live = 0;
  /** executed counts the events run so far (cancelled ones are not counted). */
  executed = 0;

  /** now is the current virtual time in milliseconds. */
  get now(): number {
    return this.current;
  }

  /** pending is the number of scheduled, not-cancelled events. */
  get pending(): number {
    return this.live;
  }

  /** schedule runs `run` after `delayMs` of virtual time (0 = after everything already due now). */
  schedule(delayMs: number, kind: number, node: number, run: () => void): SimEvent {
    assert(delayMs >= 0 && Number.isFinite(delayMs), `bad delay ${delayMs}`);
    const event: SimEvent = { id: this.nextId++, time: this.current + delayMs, kind, node, run, cancelled: false };
    this.push(event);
    this.live++;
    return event;
  }

  /** cancel stops a scheduled event from running; cancelling twice or after it ran is harmless. */
  cancel(event: SimEvent | null | undefined): void {
    if (!event || event.cancelled) return;
    event.cancelled = true;
    this.live--;
  }

  /** peekTime is the time of the next live event, or Infinity when none is scheduled. */
  peekTime(): number {
    this.dropCancelled();
    return this.heap[0]?.time ?? Infinity;
  }

  /**
   * step runs the next event, advancing time to it, and returns it; undefined when none is due at
   * or before `until`.
   */
  step(until = Infinity): SimEvent | undefined {
    this.dropCancelled();
    const top = this.heap[0];
    if (!top || top.time > until) return undefined;
    this.pop();
    assert(top.time >= this.current, 'time went backwards');
    this.current = top.time;
    top.cancelled = true; // NB: so that a late cancel() of a run event does not miscount `live`.
    this.live--;
    this.executed++;
    top.run();
    return top;
  }

  /** advanceTo moves time forward to `time` without running anything (used when the queue is empty). */
  advanceTo(time: number): void {
    assert(time >= this.current, 'time went backwards');
    assert(this.peekTime() >= time, 'advancing past a due event');
    this.current = time;
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && (this.heap[0] as SimEvent).cancelled) this.pop();
  }

  private static less(a: SimEvent, b: SimEvent): boolean {
    return a.time < b.time || (a.time === b.time && a.id < b.id);
  }

  private push(event: SimEvent): void {
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as SimEvent;
      if (!SimClock.less(event, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = event;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop() as SimEvent;
    if (heap.length === 0) return;
    let i = 0;
    const n = heap.length;
    while (true) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && SimClock.less(heap[r] as SimEvent, heap[l] as SimEvent)) c = r;
      const child = heap[c] as SimEvent;
      if (!SimClock.less(child, last)) break;
      heap[i] = child;
      i = c;
    }
    heap[i] = last;
  }
}
