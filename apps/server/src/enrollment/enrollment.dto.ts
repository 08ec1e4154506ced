import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';
import { EnrollmentTokenEntity } from './enrollment.entity';

export class CreateEnrollmentTokenDto {
  /** How many hosts may enrol with it. */
  @IsOptional() @IsInt() @Min(1) @Max(10_000) uses = 1;
  @IsInt() @Min(60) @Max(31_536_000) expiresInSeconds!: number;
  /** Hosts enrolling with it are approved on arrival. */
  @IsOptional() @IsBoolean() autoApprove = false;
  @IsOptional() @IsString() @MaxLength(500) note?: string;
}

export class ListEnrollmentTokensQueryDto {
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit = 100;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) offset = 0;
}

export class EnrollmentTokenIdParamDto {
  @IsUUID() id!: string;
}

export const TOKEN_STATES = ['active', 'expired', 'used-up', 'revoked'] as const;
export type TokenState = (typeof TOKEN_STATES)[number];

/** Why a token can no longer be used; revoked wins over used up, used up over expired. */
export function tokenState(t: Pick<EnrollmentTokenEntity, 'revokedAt' | 'usedCount' | 'uses' | 'expiresAt'>, now = new Date()): TokenState {
  if (t.revokedAt) return 'revoked';
  if (t.usedCount >= t.uses) return 'used-up';
  if (new Date(t.expiresAt).getTime() <= now.getTime()) return 'expired';
  return 'active';
}

export interface EnrollmentTokenDto {
  id: string;
  state: TokenState;
  uses: number;
  usedCount: number;
  usesLeft: number;
  expiresAt: string;
  autoApprove: boolean;
  note: string | null;
  parentHostId: string | null;
  createdBy: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** Returned once, when the token is made: the only time the secret is shown. */
export interface CreatedEnrollmentTokenDto extends EnrollmentTokenDto {
  secret: string;
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

export function toEnrollmentTokenDto(t: EnrollmentTokenEntity, now = new Date()): EnrollmentTokenDto {
  return {
    id: t.id, state: tokenState(t, now), uses: t.uses, usedCount: t.usedCount, usesLeft: Math.max(0, t.uses - t.usedCount),
    expiresAt: iso(t.expiresAt)!, autoApprove: t.autoApprove, note: t.note, parentHostId: t.parentHostId, createdBy: t.createdBy,
    createdAt: iso(t.createdAt)!, lastUsedAt: iso(t.lastUsedAt), revokedAt: iso(t.revokedAt),
  };
}
