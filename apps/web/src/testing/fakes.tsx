import type { ReactNode } from 'react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import type { Socket } from 'socket.io-client';
import { AuthProvider } from '../auth';
import { UI_UPDATES } from '../../../../libs/protocol/src/events';
import { SocketContext } from '../socket';
import type { Role } from '../types';

type Handler = (payload: unknown) => void;

/** A stand-in for the `/ui` socket: tests push server events with emit(). */
export class FakeSocket {
  private handlers = new Map<string, Set<Handler>>();
  connected = true;
  on(event: string, handler: Handler) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event)!.add(handler);
    return this;
  }
  off(event: string, handler: Handler) {
    this.handlers.get(event)?.delete(handler);
    return this;
  }
  /** Pushes one update as the server does: inside a `ui.updates` batch. */
  emit(event: string, payload: unknown) {
    this.emitBatch([[event, payload]]);
  }
  emitBatch(batch: unknown) {
    for (const handler of this.handlers.get(UI_UPDATES) ?? []) handler(batch);
  }
}

// jsdom has no fetch Response; api.ts only reads ok, status, statusText and text().
const answer = (status: number, value: unknown) => ({
  ok: status >= 200 && status < 300,
  status,
  statusText: '',
  text: async () => (value === undefined ? '' : JSON.stringify(value)),
});

/** Answers fetch() from a table of `METHOD /path` -> JSON body (or a function of the request body and query). */
export function mockFetch(routes: Record<string, unknown | ((body: unknown, query: Record<string, string>) => unknown)>) {
  const calls: { method: string; path: string; query: Record<string, string>; headers: Record<string, string>; body: unknown }[] = [];
  const fetchMock = jest.fn(async (input: string, init: RequestInit = {}) => {
    const method = init.method ?? 'GET';
    const [path, search = ''] = input.split('?');
    const query = Object.fromEntries(new URLSearchParams(search));
    const body = typeof init.body === 'string' ? JSON.parse(init.body) : undefined;
    calls.push({ method, path, query, headers: (init.headers ?? {}) as Record<string, string>, body });
    const key = `${method} ${path}`;
    if (!(key in routes)) {
      return answer(404, { statusCode: 404, code: 'COMMON_NOT_FOUND', message: `no route ${key}` });
    }
    const route = routes[key];
    const value = typeof route === 'function' ? (route as (b: unknown, q: Record<string, string>) => unknown)(body, query) : route;
    return answer(200, value);
  });
  global.fetch = fetchMock as unknown as typeof fetch;
  return calls;
}

export function renderPage(
  element: ReactNode,
  { role, path, route, socket }: { role: Role; path: string; route: string; socket?: FakeSocket },
) {
  return (
    <MemoryRouter initialEntries={[path]}>
      <AuthProvider initialUser={{ id: 'u1', username: role, role }}>
        <SocketContext.Provider value={{ socket: (socket ?? null) as unknown as Socket | null, connected: true }}>
          <Routes>
            <Route path={route} element={element} />
          </Routes>
        </SocketContext.Provider>
      </AuthProvider>
    </MemoryRouter>
  );
}
