/**
 * The transport floor: a bare socket.io server with the same settings as Sysfleet's (websocket
 * only, no deflate) that acknowledges every `ping` at once. The coordinator forks it and a
 * load-agent worker measures emit-with-ack round trips against it.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import type { RawServerReady } from './lib/ipc';

const http = createServer();
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });
io.on('connection', (socket) => {
  socket.on('ping', (_payload: unknown, ack: unknown) => {
    if (typeof ack === 'function') (ack as (r: { ok: boolean }) => void)({ ok: true });
  });
});
http.listen(0, '127.0.0.1', () => {
  const addr = http.address();
  const ready: RawServerReady = { type: 'listening', port: typeof addr === 'object' && addr ? addr.port : 0 };
  process.send?.(ready);
});
process.on('disconnect', () => process.exit(0));
