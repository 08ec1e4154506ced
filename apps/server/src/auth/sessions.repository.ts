import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, Repository } from 'typeorm';
import { SessionEntity } from './sessions.entity';

export interface NewSession {
  userId: string;
  tokenHash: string;
  expiresAt: Date;
  sourceIp: string | null;
  userAgent: string | null;
}

@Injectable()
export class SessionsRepository {
  constructor(@InjectRepository(SessionEntity) private readonly repo: Repository<SessionEntity>) {}

  async create(session: NewSession): Promise<SessionEntity> {
    return this.repo.save(this.repo.create({ ...session, lastSeenAt: new Date() }));
  }

  /** The unexpired session with this token hash, with its user loaded. */
  findUnexpiredWithUser(tokenHash: string, now: Date): Promise<SessionEntity | null> {
    // One joined SELECT per API request (findOne with a relation costs TypeORM two).
    return this.repo.createQueryBuilder('s').innerJoinAndSelect('s.user', 'u')
      .where('s.tokenHash = :tokenHash AND s.expiresAt > :now', { tokenHash, now }).getOne();
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
