import { INestApplication } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import Redis from 'ioredis';
import { MAX_MESSAGE_BYTES } from '@sysfleet/protocol';
import type { Server, ServerOptions } from 'socket.io';
import { EnvironmentVariables } from '../config/config';

/**
 * socket.io settings for every namespace (/agent and /ui share one server). Websocket only, so
 * replicas need no sticky sessions; a silent peer is dropped after pingInterval + pingTimeout
 * (45 s). Pings cost a timer and two frames per socket: at 10,000 agents a 25 s interval is 400/s.
 */
/**
 * Frames up to this size reach the gateway, where parsePayload refuses anything over
 * MAX_MESSAGE_BYTES with an error ack and a log line while the connection stays up. Beyond it
 * engine.io closes the socket itself (reason "transport error"): the bound keeps a peer from making
 * the server buffer an arbitrarily large frame. The agent then reconnects with a fresh handshake.
 */
export const MAX_TRANSPORT_BYTES = 4 * MAX_MESSAGE_BYTES;

export const SOCKET_SERVER_OPTIONS = {
  transports: ['websocket'],
  perMessageDeflate: false,
  maxHttpBufferSize: MAX_TRANSPORT_BYTES,
  pingInterval: 25_000,
  pingTimeout: 20_000,
  serveClient: false,
  allowEIO3: false,
} satisfies Partial<ServerOptions>;

/**
 * socket.io adapter that shares rooms, broadcasts, acks and disconnects between server replicas
 * through Redis pub/sub. Use it in main.ts: `app.useWebSocketAdapter(await RedisIoAdapter.create(app));`
 */
export class RedisIoAdapter extends IoAdapter {
  private constructor(
    app: INestApplication,
    private readonly adapterFactory: ReturnType<typeof createAdapter>,
    private readonly clients: Redis[],
  ) {
    super(app);
  }

  static async create(app: INestApplication): Promise<RedisIoAdapter> {
    const config = app.get(EnvironmentVariables);
    const pub = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null, lazyConnect: true });
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    const factory = createAdapter(pub, sub, { key: `${config.REDIS_PREFIX}:socket.io` });
    return new RedisIoAdapter(app, factory, [pub, sub]);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const server: Server = super.createIOServer(port, { ...options, ...SOCKET_SERVER_OPTIONS });
    server.adapter(this.adapterFactory);
    return server;
  }

  override async dispose(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.quit().catch(() => c.disconnect())));
  }
}
