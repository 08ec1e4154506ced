import { ValidationError, ValidationPipe } from '@nestjs/common';
import { Transform, Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsInt, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { HOST_STATUSES, HostFacts, HostStatus, PLATFORMS } from '@sysfleet/protocol';
import { CommonErrors } from '../common/errors';
import { HostEntity } from './hosts.entity';
import { HOST_SORT_FIELDS, HostSortField, HostSummary } from './hosts.repository';

function describeErrors(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((e) => {
    const path = prefix ? `${prefix}.${e.property}` : e.property;
    return [...Object.values(e.constraints ?? {}).map((m) => `${path}: ${m}`), ...describeErrors(e.children ?? [], path)];
  });
}

/**
 * Validates this feature's request DTOs (whitelist, unknown fields refused) into COMMON_VALIDATION errors.
 * Applied per controller so the routes stay validated whether or not main.ts adds a global pipe.
 */
export const requestValidation = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  exceptionFactory: (errors) => {
    const problems = describeErrors(errors);
    return CommonErrors.VALIDATION(problems.join('; '), problems);
  },
});

export class ListHostsQueryDto {
  @IsOptional() @IsIn(HOST_STATUSES) status?: HostStatus;
  @IsOptional() @IsIn(PLATFORMS) platform?: string;
  @IsOptional() @IsString() @Matches(/^[a-z0-9_.-]{1,64}$/) role?: string;
  /** `true` or `false`. */
  @IsOptional() @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value)) @IsIn([true, false], { message: 'online must be true or false' })
  online?: boolean;
  /** A parent's id lists its children; `none` lists only hosts without a parent (the top of the tree). */
  @IsOptional() @ValidateIf((_, v) => v !== 'none') @IsUUID(undefined, { message: 'parentHostId must be a host id or "none"' }) parentHostId?: string;
  /** Case-insensitive text searched in hostname, FQDN and key fingerprint. */
  @IsOptional() @IsString() @MaxLength(253) q?: string;
  @IsOptional() @IsIn(HOST_SORT_FIELDS) sort: HostSortField = 'hostname';
  @IsOptional() @IsIn(['asc', 'desc']) order: 'asc' | 'desc' = 'asc';
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit = 50;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(10_000_000) offset = 0;
}

export class HostIdsDto {
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(1000) @IsUUID('all', { each: true }) ids!: string[];
}

export class HostReasonDto {
  /** Shown to the agent and kept on the host. */
  @IsOptional() @IsString() @MaxLength(500) reason?: string;
}

export class HostIdParamDto {
  @IsUUID() id!: string;
}

export interface HostDto {
  id: string;
  fingerprint: string;
  status: HostStatus;
  hostname: string;
  fqdn: string;
  platform: string;
  osName: string;
  osVersion: string;
  arch: string;
  agentVersion: string;
  roles: string[];
  parentHostId: string | null;
  enrollmentTokenId: string | null;
  online: boolean;
  lastSeenAt: string | null;
  firstSeenAt: string;
  approvedAt: string | null;
  approvedBy: string | null;
  statusReason: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface HostDetailDto extends HostDto {
  publicKey: string;
  facts: HostFacts;
}

export interface BulkResultItem {
  id: string;
  ok: boolean;
  /** The host's status after the request (absent when the host does not exist). */
  status?: HostStatus;
  /** Set when ok is false: HOST_NOT_FOUND or HOST_INVALID_TRANSITION. */
  code?: string;
  message?: string;
}

export interface BulkResultDto {
  /** How many hosts changed status. */
  changed: number;
  results: BulkResultItem[];
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

export function toHostDto(h: HostSummary): HostDto {
  return {
    id: h.id, fingerprint: h.fingerprint, status: h.status, hostname: h.hostname, fqdn: h.fqdn, platform: h.platform,
    osName: h.osName, osVersion: h.osVersion, arch: h.arch, agentVersion: h.agentVersion, roles: h.roles,
    parentHostId: h.parentHostId, enrollmentTokenId: h.enrollmentTokenId, online: h.online, lastSeenAt: iso(h.lastSeenAt),
    firstSeenAt: iso(h.firstSeenAt)!, approvedAt: iso(h.approvedAt), approvedBy: h.approvedBy, statusReason: h.statusReason,
    createdAt: iso(h.createdAt)!, updatedAt: iso(h.updatedAt)!,
  };
}

export function toHostDetailDto(h: HostEntity): HostDetailDto {
  return { ...toHostDto(h), publicKey: h.publicKey, facts: h.facts };
}
