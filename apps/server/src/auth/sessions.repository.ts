import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, Repository } from 'typeorm';
import { Batcher } from '../common/batcher';
import type { UserEntity } from '../users/users.entity';
import { SessionEntity } from './sessions.entity';

export interface NewSession {
  userId: string;
  tokenHash: string;
  expiresAt: Date;
  sourceIp: string | null;
  userAgent: string | null;
}

/** A live session with what a request needs of its user. */
export type LiveSession = Pick<SessionEntity, 'id' | 'expiresAt' | 'lastSeenAt'> & { user: Pick<UserEntity, 'id' | 'username' | 'role' | 'disabled'> };

@Injectable()
export class SessionsRepository {
  private readonly live = new Batcher<string, LiveSession>(async (hashes) => {
    // Plain SQL: the query builder's join mapping cost more CPU than the query (one per API request).
    const rows: (Pick<SessionEntity, 'id' | 'userId' | 'tokenHash' | 'expiresAt' | 'lastSeenAt'> & Pick<UserEntity, 'username' | 'role' | 'disabled'>)[] = await this.repo.query(
      `SELECT s.id, s."userId", s."tokenHash", s."expiresAt", s."lastSeenAt", u.username, u.role, u.disabled
         FROM sessions s JOIN users u ON u.id = s."userId" WHERE s."tokenHash" = ANY($1::text[]) AND s."expiresAt" > $2`,
      [hashes, new Date()],
    );
    return new Map(rows.map((r) => [r.tokenHash, {
      id: r.id, expiresAt: r.expiresAt, lastSeenAt: r.lastSeenAt, user: { id: r.userId, username: r.username, role: r.role, disabled: r.disabled },
    }]));
  });

  constructor(@InjectRepository(SessionEntity) private readonly repo: Repository<SessionEntity>) {}

  async create(session: NewSession): Promise<SessionEntity> {
    return this.repo.save(this.repo.create({ ...session, lastSeenAt: new Date() }));
  }

  /**
   * The unexpired session with this token hash and its user. Lookups made together (the requests of
   * one operator arriving at once) share one SELECT; each still sees the table as it is after the call.
   */
  findLive(tokenHash: string): Promise<LiveSession | null> {
    return this.live.call(tokenHash).then((s) => s ?? null);
  }

  async extend(id: string, lastSeenAt: Date, expiresAt: Date): Promise<void> {
    await this.repo.update({ id }, { lastSeenAt, expiresAt });
  }

  async deleteById(id: string): Promise<void> {
    await this.repo.delete({ id });
  }

  async deleteForUser(userId: string): Promise<number> {
    return (await this.repo.delete({ userId })).affected ?? 0;
  }

  async deleteForUserExcept(userId: string, keepId: string): Promise<number> {
    const res = await this.repo.query(`DELETE FROM sessions WHERE "userId" = $1 AND id <> $2`, [userId, keepId]);
    return (res as [unknown, number])[1] ?? 0;
  }

  /** Those of `ids` that are unexpired sessions of enabled users. */
  async findLiveIds(ids: string[], now: Date): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows: { id: string }[] = await this.repo.query(
      `SELECT s.id FROM sessions s JOIN users u ON u.id = s."userId" WHERE s.id = ANY($1::uuid[]) AND s."expiresAt" > $2 AND NOT u.disabled`,
      [ids, now],
    );
    return rows.map((r) => r.id);
  }

  async deleteExpired(now: Date): Promise<number> {
    return (await this.repo.delete({ expiresAt: LessThan(now) })).affected ?? 0;
  }
}
