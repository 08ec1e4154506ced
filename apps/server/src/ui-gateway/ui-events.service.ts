import { Injectable } from '@nestjs/common';
import { UiEvent } from '@sysfleet/protocol';
import type { Namespace } from 'socket.io';

export type UiEventName = (typeof UiEvent)[keyof typeof UiEvent];

/** Room of every authenticated /ui connection. */
export const UI_ROOM = 'ui';

/** Pushes live updates to every logged-in web UI, on whichever replica it is connected. */
@Injectable()
export class UiEvents {
  private ns: Namespace | null = null;

  /** Called by the gateway once socket.io is up. */
  attach(ns: Namespace): void {
    this.ns = ns;
  }

  publish(event: UiEventName, payload: unknown): void {
    this.ns?.to(UI_ROOM).emit(event, payload);
  }
}
