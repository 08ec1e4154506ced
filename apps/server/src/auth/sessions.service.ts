import { Injectable } from '@nestjs/common';
import { parse as parseCookies } from 'cookie';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { EnvironmentVariables } from '../config/config';
import type { Actor } from './auth.decorators';
import { SessionsRepository } from './sessions.repository';

export const SESSION_COOKIE = 'sysfleet_session';
/** A session's expiry is pushed forward at most once a minute, so requests do not each write a row. */
const EXTEND_AFTER_MS = 60_000;
const MAX_TOKEN_LENGTH = 128;

export interface StartedSession {
  sessionId: string;
  /** The secret: the cookie value and the bearer token. Only its SHA-256 is stored. */
  token: string;
  csrfToken: string;
  expiresAt: Date;
}

export interface AuthenticatedSession {
  sessionId: string;
  actor: Actor;
  via: 'cookie' | 'bearer';
}

export interface RequestCredentials {
  headers: { authorization?: string; cookie?: string };
}

/** Operator sessions: random tokens stored hashed, sliding expiry, CSRF tokens bound to the session. */
@Injectable()
export class SessionsService {
  private readonly ttlMs: number;

  constructor(
    private readonly sessions: SessionsRepository,
    private readonly config: EnvironmentVariables,
  ) {
    this.ttlMs = config.SESSION_TTL_HOURS * 3_600_000;
  }

  async start(userId: string, meta: { sourceIp?: string | null; userAgent?: string | null } = {}): Promise<StartedSession> {
    const now = new Date();
    // Tidy up here rather than in a timer: logins are rare and every replica does them.
    await this.sessions.deleteExpired(now);
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + this.ttlMs);
    const session = await this.sessions.create({
      userId,
      tokenHash: sha256(token),
      expiresAt,
      sourceIp: meta.sourceIp ?? null,
      userAgent: meta.userAgent ? meta.userAgent.slice(0, 300) : null,
    });
    return { sessionId: session.id, token, csrfToken: this.csrfTokenFor(session.id), expiresAt };
  }

  /** The live session for a token: unexpired, user enabled. Extends its expiry (sliding). */
  async fromToken(token: string | undefined): Promise<{ sessionId: string; actor: Actor } | null> {
    if (!token || token.length > MAX_TOKEN_LENGTH) return null;
    const now = new Date();
    const session = await this.sessions.findLive(sha256(token));
    if (!session || session.user.disabled) return null;
    if (now.getTime() - session.lastSeenAt.getTime() > EXTEND_AFTER_MS) {
      await this.sessions.extend(session.id, now, new Date(now.getTime() + this.ttlMs));
    }
    const { id: userId, username, role } = session.user;
    return { sessionId: session.id, actor: { userId, username, role } };
  }

  /** Authenticates an HTTP request: `Authorization: Bearer <token>` if present, else the session cookie. */
  async fromRequest(req: RequestCredentials): Promise<AuthenticatedSession | null> {
    const authorization = req.headers.authorization;
    if (authorization) {
      const bearer = /^Bearer\s+(\S+)$/i.exec(authorization);
      const found = bearer ? await this.fromToken(bearer[1]) : null;
      return found && { ...found, via: 'bearer' };
    }
    const found = await this.fromToken(cookieToken(req.headers.cookie));
    return found && { ...found, via: 'cookie' };
  }

  /** For the socket.io `/ui` namespace: the session (and operator) a handshake's Cookie header belongs to, or null. */
  fromCookieHeader(cookieHeader: string | undefined): Promise<{ sessionId: string; actor: Actor } | null> {
    return this.fromToken(cookieToken(cookieHeader));
  }

  /** Those of `sessionIds` still live: unexpired, user enabled. */
  liveIds(sessionIds: string[]): Promise<string[]> {
    return this.sessions.findLiveIds(sessionIds, new Date());
  }

  csrfTokenFor(sessionId: string): string {
    return createHmac('sha256', this.config.SYSFLEET_SECRET).update(`csrf:${sessionId}`).digest('base64url');
  }

  csrfMatches(sessionId: string, given: string | undefined): boolean {
    if (!given) return false;
    const expected = Buffer.from(this.csrfTokenFor(sessionId));
    const actual = Buffer.from(given);
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }

  async end(sessionId: string): Promise<void> {
    await this.sessions.deleteById(sessionId);
  }

  async endAllForUser(userId: string): Promise<number> {
    return this.sessions.deleteForUser(userId);
  }

  async endOthersOfUser(userId: string, keepSessionId: string): Promise<number> {
    return this.sessions.deleteForUserExcept(userId, keepSessionId);
  }
}

function sha256(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function cookieToken(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  return parseCookies(cookieHeader)[SESSION_COOKIE];
}
