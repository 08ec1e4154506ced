import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { io, type Socket } from 'socket.io-client';
import { UI_NAMESPACE, UI_UPDATES, UiEvent } from '../../../libs/protocol/src/events';
import type { Host, Job, JobEvent } from './types';

/** Payloads of the server -> UI events on `/ui`. */
export interface UiEvents {
  [UiEvent.HostPending]: Host;
  [UiEvent.HostUpdated]: Host;
  [UiEvent.HostRemoved]: { id: string };
  [UiEvent.HostVirtualization]: { hostId: string };
  [UiEvent.JobUpdated]: Job;
  [UiEvent.JobEvent]: JobEvent & { jobId: string };
}
export type UiEventName = keyof UiEvents;
export { UiEvent };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const hasString = (v: Record<string, unknown>, key: string) => typeof v[key] === 'string';

/** Shape checks for what arrives on the socket; anything else is dropped, never rendered. */
const guards: { [K in UiEventName]: (v: unknown) => v is UiEvents[K] } = {
  [UiEvent.HostPending]: (v): v is Host => isObject(v) && hasString(v, 'id') && hasString(v, 'status'),
  [UiEvent.HostUpdated]: (v): v is Host => isObject(v) && hasString(v, 'id') && hasString(v, 'status'),
  [UiEvent.HostRemoved]: (v): v is { id: string } => isObject(v) && hasString(v, 'id'),
  [UiEvent.HostVirtualization]: (v): v is { hostId: string } => isObject(v) && hasString(v, 'hostId'),
  [UiEvent.JobUpdated]: (v): v is Job => isObject(v) && hasString(v, 'id') && hasString(v, 'status'),
  [UiEvent.JobEvent]: (v): v is JobEvent & { jobId: string } =>
    isObject(v) && hasString(v, 'jobId') && typeof v.seq === 'number' && hasString(v, 'step'),
};

interface SocketState {
  socket: Socket | null;
  connected: boolean;
}
/** Exported for tests, which provide a fake socket. */
export const SocketContext = createContext<SocketState>({ socket: null, connected: false });

/** One socket.io connection to `/ui` for the whole logged-in session; the session cookie authenticates it. */
export function SocketProvider({ children, enabled }: { children: ReactNode; enabled: boolean }) {
  const [state, setState] = useState<SocketState>({ socket: null, connected: false });
  useEffect(() => {
    if (!enabled) return undefined;
    const socket = io(UI_NAMESPACE, { transports: ['websocket'], withCredentials: true });
    setState({ socket, connected: socket.connected });
    const update = () => setState({ socket, connected: socket.connected });
    socket.on('connect', update);
    socket.on('disconnect', update);
    return () => {
      socket.off('connect', update);
      socket.off('disconnect', update);
      socket.disconnect();
      setState({ socket: null, connected: false });
    };
  }, [enabled]);
  return <SocketContext.Provider value={state}>{children}</SocketContext.Provider>;
}

export function useSocketConnected(): boolean {
  return useContext(SocketContext).connected;
}

/** Calls handler for every valid `event` in the server's `ui.updates` batches; the latest handler is always used. */
export function useUiEvent<K extends UiEventName>(event: K, handler: (payload: UiEvents[K]) => void): void {
  const { socket } = useContext(SocketContext);
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(() => {
    if (!socket) return undefined;
    // The server sends batches of [event, payload] pairs; this hook takes the pairs of its event.
    const listener = (batch: unknown) => {
      if (!Array.isArray(batch)) return;
      for (const item of batch) {
        if (Array.isArray(item) && item[0] === event && guards[event](item[1])) latest.current(item[1]);
      }
    };
    socket.on(UI_UPDATES, listener);
    return () => {
      socket.off(UI_UPDATES, listener);
    };
  }, [socket, event]);
}
