import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { Server, Socket } from 'socket.io';
import { HandshakeAuth, HelloPayload, parsePayload, verifyHandshake } from '@sysfleet/protocol';

/** For unit tests only: a minimal /agent namespace that checks signatures like the real server. */
export interface FakeServer {
  url: string;
  io: Server;
  handshakes: HandshakeAuth[];
  hellos: HelloPayload[];
  sockets: Socket[];
  /** Return a refusal to fail the handshake with connect_error { message, data: { code } }. */
  refuse: (auth: HandshakeAuth) => { message: string; code: string } | undefined;
  /** The ack of agent.hello. */
  helloAnswer: () => unknown;
  close(): Promise<void>;
}

export async function startFakeServer(): Promise<FakeServer> {
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'] });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const server: FakeServer = {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    io,
    handshakes: [],
    hellos: [],
    sockets: [],
    refuse: () => undefined,
    helloAnswer: () => ({ hostId: '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f', status: 'pending' }),
    close: () => new Promise((r) => io.close(() => r())),
  };
  const nsp = io.of('/agent');
  nsp.use(async (socket, next) => {
    const auth = parsePayload(HandshakeAuth, socket.handshake.auth);
    if (!auth.ok || !(await verifyHandshake(auth.value.publicKey, auth.value.hostId, auth.value.timestamp, auth.value.nonce, auth.value.signature))) {
      return next(Object.assign(new Error('bad signature'), { data: { code: 'BAD_SIGNATURE' } }));
    }
    server.handshakes.push(auth.value);
    const r = server.refuse(auth.value);
    if (r) return next(Object.assign(new Error(r.message), { data: { code: r.code } }));
    next();
  });
  nsp.on('connection', (socket) => {
    server.sockets.push(socket);
    socket.on('agent.hello', (payload: unknown, ack: (r: unknown) => void) => {
      const hello = parsePayload(HelloPayload, payload);
      if (hello.ok) server.hellos.push(hello.value);
      const answer = server.helloAnswer();
      // No answer: the server drops the connection instead (as a stopping server does).
      if (answer === undefined) socket.disconnect(true);
      else ack(answer);
    });
  });
  return server;
}

/** Polls until `check` holds (bounded), for tests that wait on real sockets and files. */
export async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
