import { INestApplication } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import Redis from 'ioredis';
import { MAX_MESSAGE_BYTES } from '@sysfleet/protocol';
import type { MessageMappingProperties } from '@nestjs/websockets';
import type { Observable } from 'rxjs';
import { Namespace, type Server, type ServerOptions, type Socket } from 'socket.io';
import { EnvironmentVariables } from '../config/config';
import { AUTO_PIPELINE, closeRedis } from '../database/redis';

/**
 * Frames up to this size reach the gateway, where parsePayload refuses anything over
 * MAX_MESSAGE_BYTES with an error ack and a log line while the connection stays up. Beyond it
 * engine.io closes the socket itself (reason "transport error"): the bound keeps a peer from making
 * the server buffer an arbitrarily large frame. The agent then reconnects with a fresh handshake.
 */
export const MAX_TRANSPORT_BYTES = 4 * MAX_MESSAGE_BYTES;

/**
 * socket.io settings for every namespace (/agent and /ui share one server). Websocket only, so
 * replicas need no sticky sessions. The ping interval and timeout come from the config
 * (SOCKET_PING_INTERVAL_MS, SOCKET_PING_TIMEOUT_MS; see RedisIoAdapter.createIOServer): a silent
 * peer is dropped after their sum (45 s by default). Pings cost a timer and two frames per socket:
 * at 10,000 agents a 25 s interval is 400/s.
 */
export const SOCKET_SERVER_OPTIONS = {
  transports: ['websocket'],
  perMessageDeflate: false,
  maxHttpBufferSize: MAX_TRANSPORT_BYTES,
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
    private readonly ping: Pick<ServerOptions, 'pingInterval' | 'pingTimeout'>,
  ) {
    super(app);
  }

  static async create(app: INestApplication): Promise<RedisIoAdapter> {
    const config = app.get(EnvironmentVariables);
    // PUBLISH and the PUBSUB NUMSUB of every fetchSockets() pipelined per turn; the subscriber is not.
    const pub = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null, lazyConnect: true, ...AUTO_PIPELINE });
    const sub = pub.duplicate({ enableAutoPipelining: false });
    await Promise.all([pub.connect(), sub.connect()]);
    const factory = createAdapter(pub, sub, { key: `${config.REDIS_PREFIX}:socket.io` });
    return new RedisIoAdapter(app, factory, [pub, sub], { pingInterval: config.SOCKET_PING_INTERVAL_MS, pingTimeout: config.SOCKET_PING_TIMEOUT_MS });
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const server: Server = super.createIOServer(port, { ...options, ...SOCKET_SERVER_OPTIONS, ...this.ping });
    server.adapter(this.adapterFactory);
    return server;
  }

  /**
   * Nest builds an rxjs chain per connection (fromEvent + share + first, four Observables and about
   * ten closures) even for a gateway without @SubscribeMessage handlers; the gateways here bind
   * their events themselves, so at 10,000 agents that is memory for nothing.
   */
  override bindMessageHandlers(socket: Socket, handlers: MessageMappingProperties[], transform: (data: unknown) => Observable<unknown>): void {
    if (handlers.length > 0) super.bindMessageHandlers(socket, handlers, transform);
  }

  /**
   * Called for each gateway's namespace on shutdown, before Nest closes the HTTP server. With
   * forceCloseConnections Nest leaves socket.io open here and then destroys every TCP connection,
   * upgraded ones too; engine.io, closed afterwards by the HTTP server's close event, then writes a
   * close frame into each destroyed socket and builds an error for it (at 10,000 agents two seconds
   * of a stopping server's CPU). Closed here, each peer gets its close frame while its connection
   * is still open. Only this replica's connections: nothing goes through the Redis adapter.
   */
  override async close(server: Server | Namespace): Promise<void> {
    const io = server instanceof Namespace ? server.server : server;
    io.engine.close();
  }

  override async dispose(): Promise<void> {
    await Promise.all(this.clients.map(closeRedis));
  }
}
