import { Logger, OnModuleDestroy } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import { UI_NAMESPACE } from '@sysfleet/protocol';
import type { Namespace, Socket } from 'socket.io';
import { SOCKET_SERVER_OPTIONS } from '../agent-gateway/redis-io.adapter';
import { SessionsService } from '../auth/sessions.service';
import { EnvironmentVariables } from '../config/config';
import { sessionRoom, UI_ROOM, UiEvents } from './ui-events.service';

/** Error handed to socket.io's next(): the browser sees `message` and `data.code` in connect_error. */
class UiRefusal extends Error {
  readonly data: { code: string };
  constructor(code: string, message: string) {
    super(message);
    this.data = { code };
  }
}

function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/** The web UI's live channel: session cookie and Origin checked at connect; server -> browser only. */
@WebSocketGateway({ namespace: UI_NAMESPACE, ...SOCKET_SERVER_OPTIONS })
export class UiGateway implements OnGatewayInit, OnGatewayConnection, OnModuleDestroy {
  private readonly logger = new Logger('UiGateway');
  private readonly allowedOrigins: Set<string>;
  private readonly sessionCheckMs: number;
  private sweepTimer?: NodeJS.Timeout;
  private ns?: Namespace;

  constructor(
    private readonly sessions: SessionsService,
    private readonly events: UiEvents,
    config: EnvironmentVariables,
  ) {
    const listed = (config.ALLOWED_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean);
    this.allowedOrigins = new Set([config.PUBLIC_URL, ...listed].map(originOf).filter((o): o is string => o !== null));
    this.sessionCheckMs = config.UI_SESSION_CHECK_SECONDS * 1000;
  }

  onModuleDestroy(): void {
    clearInterval(this.sweepTimer);
  }

  afterInit(ns: Namespace): void {
    this.ns = ns;
    this.events.attach(ns);
    // Sessions end without telling this replica (expiry, a user disabled on another one): look again now and then.
    this.sweepTimer = setInterval(() => void this.closeEndedSessions(), this.sessionCheckMs);
    this.sweepTimer.unref();
    ns.use((socket, next) => {
      const origin = socket.handshake.headers.origin;
      // Browsers always send Origin on websockets; checking it stops other sites riding the session cookie.
      if (typeof origin !== 'string' || !this.allowedOrigins.has(origin)) {
        this.logger.warn(`refused /ui connection from origin ${JSON.stringify(origin ?? null)}`);
        return next(new UiRefusal('BAD_ORIGIN', `origin ${origin ?? '(none)'} is not allowed`));
      }
      this.sessions
        .fromCookieHeader(socket.handshake.headers.cookie)
        .then((session) => {
          if (!session) return next(new UiRefusal('UNAUTHENTICATED', 'not logged in'));
          socket.data.actor = session.actor;
          socket.data.sessionId = session.sessionId;
          next();
        })
        .catch((e: unknown) => {
          this.logger.error(`/ui session check failed: ${(e as Error).message}`);
          next(new UiRefusal('SERVER_UNAVAILABLE', 'could not check the session; try again later'));
        });
    });
  }

  handleConnection(socket: Socket): void {
    (socket.conn as unknown as { request: unknown }).request = null;
    // Push only: anything a browser sends here is ignored.
    socket.join([UI_ROOM, sessionRoom(socket.data.sessionId as string)]);
  }

  /** Disconnects this replica's /ui sockets whose session is no longer live. */
  private async closeEndedSessions(): Promise<void> {
    const sockets = [...(this.ns?.sockets.values() ?? [])];
    if (sockets.length === 0) return;
    try {
      const live = new Set(await this.sessions.liveIds([...new Set(sockets.map((s) => s.data.sessionId as string))]));
      for (const socket of sockets) if (!live.has(socket.data.sessionId as string)) socket.disconnect(true);
    } catch (e) {
      this.logger.warn(`could not check the sessions of /ui sockets: ${(e as Error).message}`);
    }
  }
}
