import { Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { EnvironmentVariables } from '../config/config';
import { InjectRedis } from '../database/redis';
import { UserEntity } from '../users/users.entity';
import { UsersService } from '../users/users.service';
import { UiEvents } from '../ui-gateway/ui-events.service';
import type { Actor } from './auth.decorators';
import { AuthErrors } from './auth.errors';
import { SessionsService, StartedSession } from './sessions.service';

export interface LoginMeta {
  sourceIp: string | null;
  userAgent: string | null;
}

/** Login with per-username and per-IP failure limits kept in Redis (shared by every replica). */
@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly config: EnvironmentVariables,
    @InjectRedis() private readonly redis: Redis,
    private readonly ui: UiEvents,
  ) {}

  async login(username: string, password: string, meta: LoginMeta): Promise<{ session: StartedSession; user: UserEntity }> {
    const limits = this.limitsFor(username.trim().toLowerCase(), meta.sourceIp);
    await this.refuseIfLimited(limits);
    const user = await this.users.verifyCredentials(username, password);
    if (!user) {
      await this.countFailure(limits);
      throw AuthErrors.INVALID_CREDENTIALS();
    }
    // Only the username's count is forgiven: one good account must not reset an IP that is guessing others.
    await this.redis.del(limits[0].key);
    await this.users.recordLogin(user);
    const session = await this.sessions.start(user.id, meta);
    return { session, user };
  }

  async logout(sessionId: string): Promise<void> {
    await this.sessions.end(sessionId);
    this.ui.closeSession(sessionId);
  }

  /**
   * A user's own password change: the current one must be right (failures count towards the login
   * limits, so a stolen session cannot guess it), and every other session of the user ends.
   */
  async changePassword(actor: Actor, sessionId: string, currentPassword: string, newPassword: string, sourceIp: string | null): Promise<void> {
    const limits = this.limitsFor(actor.username, sourceIp);
    await this.refuseIfLimited(limits);
    const user = await this.users.verifyCredentials(actor.username, currentPassword);
    if (user?.id !== actor.userId) {
      await this.countFailure(limits);
      throw AuthErrors.WRONG_PASSWORD();
    }
    await this.users.resetPassword(user.id, newPassword, sessionId);
  }

  private limitsFor(username: string, sourceIp: string | null): { key: string; max: number }[] {
    const base = `${this.config.REDIS_PREFIX}:login-failures`;
    const limits = [{ key: `${base}:user:${encodeURIComponent(username)}`, max: this.config.LOGIN_MAX_FAILURES_PER_USER }];
    if (sourceIp) limits.push({ key: `${base}:ip:${sourceIp}`, max: this.config.LOGIN_MAX_FAILURES_PER_IP });
    return limits;
  }

  private async refuseIfLimited(limits: { key: string; max: number }[]): Promise<void> {
    const counts = await this.redis.mget(...limits.map((l) => l.key));
    const hit = limits.find((l, i) => Number(counts[i] ?? 0) >= l.max);
    if (!hit) return;
    const ttl = await this.redis.ttl(hit.key);
    const retryAfterSeconds = ttl > 0 ? ttl : this.config.LOGIN_FAILURE_WINDOW_SECONDS;
    throw AuthErrors.RATE_LIMITED(`Too many failed logins; try again in ${retryAfterSeconds} s`, { retryAfterSeconds });
  }

  private async countFailure(limits: { key: string; max: number }[]): Promise<void> {
    for (const { key } of limits) {
      // The window starts at the first failure and is not extended by later ones.
      const n = await this.redis.incr(key);
      if (n === 1) await this.redis.expire(key, this.config.LOGIN_FAILURE_WINDOW_SECONDS);
    }
  }
}
