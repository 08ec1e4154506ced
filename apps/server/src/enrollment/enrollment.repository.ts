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
   * Uses the token once if it is still usable. One conditional UPDATE, so concurrent enrolments
   * can never use it more often than `uses`. Null when it is unknown, used up, revoked or expired.
   */
  async consume(secretHash: string, manager?: EntityManager): Promise<EnrollmentTokenEntity | null> {
    const res = await (manager ?? this.repo.manager).query(
      `UPDATE enrollment_tokens SET "usedCount" = "usedCount" + 1, "lastUsedAt" = now()
       WHERE "secretHash" = $1 AND "usedCount" < uses AND "revokedAt" IS NULL AND "expiresAt" > now()
       RETURNING *`,
      [secretHash],
    );
    return ((Array.isArray(res[0]) ? res[0] : res) as EnrollmentTokenEntity[])[0] ?? null;
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
