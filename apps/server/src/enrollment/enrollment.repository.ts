import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { EnrollmentTokenEntity } from './enrollment.entity';

export interface NewToken {
  secretHash: string;
  uses: number;
  expiresAt: Date;
  autoApprove: boolean;
  note: string | null;
  parentHostId: string | null;
  createdBy: string;
}

@Injectable()
export class EnrollmentTokensRepository {
  constructor(@InjectRepository(EnrollmentTokenEntity) private readonly repo: Repository<EnrollmentTokenEntity>) {}

  create(token: NewToken): Promise<EnrollmentTokenEntity> {
    return this.repo.save(this.repo.create({ ...token, usedCount: 0, revokedAt: null, lastUsedAt: null }));
  }

  list(limit: number, offset: number): Promise<[EnrollmentTokenEntity[], number]> {
    return this.repo.findAndCount({ order: { createdAt: 'DESC', id: 'DESC' }, take: limit, skip: offset });
  }

  findBySecretHash(secretHash: string, manager?: EntityManager): Promise<EnrollmentTokenEntity | null> {
    return (manager ? manager.getRepository(EnrollmentTokenEntity) : this.repo).findOneBy({ secretHash });
  }

  /**
   * Uses the token once if it is still usable. Null when it is unknown, used up, revoked or expired.
   */
  async consume(secretHash: string, manager?: EntityManager): Promise<EnrollmentTokenEntity | null> {
    return (await this.consumeMany(secretHash, 1, manager))?.token ?? null;
  }

  /**
   * Takes up to `n` uses of the token, as many as it has left, in one conditional UPDATE (the row
   * lock makes concurrent callers queue), so a token is never used more often than `uses`. Null
   * when it is unknown, used up, revoked or expired.
   */
  async consumeMany(secretHash: string, n: number, manager?: EntityManager): Promise<{ token: EnrollmentTokenEntity; granted: number } | null> {
    const res = await (manager ?? this.repo.manager).query(
      `WITH t AS (
         SELECT id, LEAST($2::int, uses - "usedCount") AS granted FROM enrollment_tokens
         WHERE "secretHash" = $1 AND "usedCount" < uses AND "revokedAt" IS NULL AND "expiresAt" > now()
         FOR UPDATE
       )
       UPDATE enrollment_tokens e SET "usedCount" = e."usedCount" + t.granted, "lastUsedAt" = now()
       FROM t WHERE e.id = t.id
       RETURNING e.*, t.granted`,
      [secretHash, n],
    );
    const row = ((Array.isArray(res[0]) ? res[0] : res) as (EnrollmentTokenEntity & { granted: number })[])[0];
    if (!row) return null;
    const { granted, ...token } = row;
    return { token: Object.assign(new EnrollmentTokenEntity(), token), granted: Number(granted) };
  }

  /** Returns `n` uses taken by consumeMany() that were not needed after all (same transaction). */
  async giveBack(secretHash: string, n: number, manager: EntityManager): Promise<EnrollmentTokenEntity> {
    const res = await manager.query(
      `UPDATE enrollment_tokens SET "usedCount" = GREATEST(0, "usedCount" - $2) WHERE "secretHash" = $1 RETURNING *`,
      [secretHash, n],
    );
    return ((Array.isArray(res[0]) ? res[0] : res) as EnrollmentTokenEntity[])[0];
  }

  /** Revokes the token; null when there is no such token. Revoking twice keeps the first time. */
  async revoke(id: string): Promise<EnrollmentTokenEntity | null> {
    const res = await this.repo.query(
      `UPDATE enrollment_tokens SET "revokedAt" = COALESCE("revokedAt", now()) WHERE id = $1 RETURNING *`,
      [id],
    );
    return ((Array.isArray(res[0]) ? res[0] : res) as EnrollmentTokenEntity[])[0] ?? null;
  }
}
