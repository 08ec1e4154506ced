import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { UI_UPDATES, UiEvent } from '@sysfleet/protocol';
import type { Namespace } from 'socket.io';

export type UiEventName = (typeof UiEvent)[keyof typeof UiEvent];

/** Room of every authenticated /ui connection. */
export const UI_ROOM = 'ui';
/** Room of the /ui connections of one operator session. */
export const sessionRoom = (sessionId: string) => `session:${sessionId}`;

/**
 * Under load, at most one batch this often: a browser needs no more, and a record that changes
 * several times meanwhile (a job's four states) is encoded and sent once. Unloaded, an update goes
 * at the end of its turn.
 */
export const UI_MIN_PUSH_INTERVAL_MS = 100;

/** Updates that carry a whole record: a later one of the same id replaces an earlier one not yet sent. */
const LATEST_WINS = new Set<UiEventName>([UiEvent.HostUpdated, UiEvent.JobUpdated]);

/**
 * Pushes live updates to every logged-in web UI, on whichever replica it is connected. The updates
 * of one event-loop turn (under load, of up to UI_MIN_PUSH_INTERVAL_MS) go out as one `ui.updates`
 * batch: a job passes through four states and a host's facts change with it, and a browser needs
 * only the latest of each.
 */
@Injectable()
export class UiEvents implements BeforeApplicationShutdown {
  private ns: Namespace | null = null;
  /** Set when the server begins to stop: updates go out at once, nothing waits for a timer. */
  private stopping = false;
  private pending = new Map<string, [UiEventName, unknown]>();
  private unkeyed = 0;
  private scheduled = false;
  private lastFlushAt = Number.NEGATIVE_INFINITY;

  /** Called by the gateway once socket.io is up. */
  attach(ns: Namespace): void {
    this.ns = ns;
  }

  publish(event: UiEventName, payload: unknown): void {
    if (!this.ns) return;
    const id = LATEST_WINS.has(event) ? (payload as { id?: unknown }).id : undefined;
    const key = typeof id === 'string' ? `${event}:${id}` : `#${this.unkeyed++}`;
    // Deleting first moves a replaced update to the end: it is sent after what happened before it.
    this.pending.delete(key);
    this.pending.set(key, [event, payload]);
    if (this.stopping) return this.flush();
    if (!this.scheduled) {
      this.scheduled = true;
      const wait = this.lastFlushAt + UI_MIN_PUSH_INTERVAL_MS - performance.now();
      if (wait > 0) setTimeout(() => this.flush(), wait);
      else setImmediate(() => this.flush());
    }
  }

  /**
   * From here on each update is sent at once, and what waits is sent now. socket.io's Redis client
   * closes right after the shutdown hooks; a batch still waiting for its timer then (the hosts this
   * replica marks offline as it stops) published on a closed connection, never reached the other
   * replicas' browsers, and its rejected PUBLISH crashed the stop.
   */
  beforeApplicationShutdown(): void {
    this.stopping = true;
    this.flush();
  }

  /** Closes the live connections of an ended session, on every replica. */
  closeSession(sessionId: string): void {
    this.ns?.in(sessionRoom(sessionId)).disconnectSockets(true);
  }

  private flush(): void {
    this.scheduled = false;
    this.lastFlushAt = performance.now();
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.unkeyed = 0;
    if (batch.length) this.ns?.to(UI_ROOM).emit(UI_UPDATES, batch);
  }
}
