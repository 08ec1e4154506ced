import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';
import { JobEntity, JobEventEntity, JOB_STATUSES, JobStatus } from './jobs.entity';

export class JobQueryDto {
  @IsOptional() @IsUUID() hostId?: string;
  @IsOptional() @IsString() @MaxLength(64) type?: string;
  @IsOptional() @IsIn(JOB_STATUSES) status?: JobStatus;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit = 50;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) offset = 0;
}

/** Hosts to start one job on each (fan-out); at most a 10,000-host fleet per request. */
export class JobHostIdsDto {
  @ApiProperty({ type: [String], minItems: 1, maxItems: 10_000 })
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(10_000) @IsUUID('all', { each: true }) ids!: string[];
}

export class BulkJobsResultItem {
  @ApiProperty() hostId!: string;
  @ApiProperty() ok!: boolean;
  @ApiPropertyOptional() jobId?: string;
  /** False when the Idempotency-Key had already started this host's job: that job is returned. */
  @ApiPropertyOptional() created?: boolean;
  @ApiPropertyOptional() code?: string;
  @ApiPropertyOptional() message?: string;
}

export class BulkJobsResultDto {
  /** How many jobs this request created. */
  @ApiProperty() created!: number;
  @ApiProperty({ type: [BulkJobsResultItem] }) results!: BulkJobsResultItem[];
}

export class JobEventDto {
  @ApiPropertyOptional({ nullable: true }) seq!: number | null;
  @ApiProperty() source!: 'agent' | 'server';
  @ApiProperty() step!: string;
  @ApiProperty() message!: string;
  @ApiPropertyOptional({ nullable: true }) percent!: number | null;
  @ApiProperty() at!: string;
}

export class JobDto {
  @ApiProperty() id!: string;
  @ApiProperty() hostId!: string;
  @ApiProperty() type!: string;
  @ApiProperty() params!: Record<string, unknown>;
  @ApiProperty({ enum: JOB_STATUSES }) status!: JobStatus;
  @ApiPropertyOptional({ nullable: true }) step!: string | null;
  @ApiPropertyOptional({ nullable: true }) percent!: number | null;
  @ApiPropertyOptional({ nullable: true }) result!: Record<string, unknown> | null;
  @ApiPropertyOptional({ nullable: true }) error!: string | null;
  @ApiPropertyOptional({ nullable: true }) failedStep!: string | null;
  @ApiProperty() createdBy!: string;
  @ApiProperty() deadlineAt!: string;
  @ApiPropertyOptional({ nullable: true }) cancelRequestedAt!: string | null;
  @ApiProperty() dispatchCount!: number;
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;
  @ApiPropertyOptional({ nullable: true }) dispatchedAt!: string | null;
  @ApiPropertyOptional({ nullable: true }) startedAt!: string | null;
  @ApiPropertyOptional({ nullable: true }) finishedAt!: string | null;
}

export class JobWithEventsDto extends JobDto {
  @ApiProperty({ type: [JobEventDto] }) events!: JobEventDto[];
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

export function toJobDto(j: JobEntity): JobDto {
  return {
    id: j.id, hostId: j.hostId, type: j.type, params: j.params, status: j.status, step: j.step, percent: j.percent,
    result: j.result, error: j.error, failedStep: j.failedStep, createdBy: j.createdBy, deadlineAt: iso(j.deadlineAt)!,
    cancelRequestedAt: iso(j.cancelRequestedAt), dispatchCount: j.dispatchCount, createdAt: iso(j.createdAt)!,
    updatedAt: iso(j.updatedAt)!, dispatchedAt: iso(j.dispatchedAt), startedAt: iso(j.startedAt), finishedAt: iso(j.finishedAt),
  };
}

export function toJobEventDto(e: JobEventEntity): JobEventDto {
  return { seq: e.seq, source: e.source, step: e.step, message: e.message, percent: e.percent, at: iso(e.at)! };
}
