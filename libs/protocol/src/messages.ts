import { Type } from 'class-transformer';
import {
  ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsISO8601, IsObject, IsOptional, IsString, IsUUID,
  Length, Matches, Max, MaxLength, Min, ValidateNested,
} from 'class-validator';
import { COMMAND_NAMES, CommandName } from './events';

export const PLATFORMS = ['linux', 'openbsd', 'windows', 'darwin', 'freebsd'] as const;
export type Platform = (typeof PLATFORMS)[number];

export const HOST_STATUSES = ['pending', 'approved', 'rejected', 'revoked'] as const;
export type HostStatus = (typeof HOST_STATUSES)[number];

/** socket.io `auth` of every `/agent` connection. The signature covers handshakeMessage(). */
export class HandshakeAuth {
  @IsInt() @Min(1) protocolVersion!: number;
  @IsString() @MaxLength(1024) @Matches(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+\n-----END PUBLIC KEY-----\n?$/)
  publicKey!: string;
  @IsOptional() @IsUUID() hostId?: string;
  @IsInt() timestamp!: number;
  @IsString() @Matches(/^[A-Za-z0-9_-]{16,64}$/) nonce!: string;
  @IsString() @MaxLength(200) signature!: string;
}

export class DiskFact {
  @IsString() @MaxLength(512) mount!: string;
  @IsInt() @Min(0) sizeBytes!: number;
  @IsInt() @Min(0) freeBytes!: number;
}

export class InterfaceFact {
  @IsString() @MaxLength(64) name!: string;
  @IsOptional() @IsString() @MaxLength(64) mac?: string;
  @IsArray() @ArrayMaxSize(64) @IsString({ each: true }) @MaxLength(64, { each: true }) addresses!: string[];
}

export class HostFacts {
  @IsString() @Length(1, 253) hostname!: string;
  @IsString() @MaxLength(253) fqdn!: string;
  @IsIn(PLATFORMS) platform!: Platform;
  @IsString() @MaxLength(128) osName!: string;
  @IsString() @MaxLength(128) osVersion!: string;
  @IsString() @MaxLength(256) kernel!: string;
  @IsString() @MaxLength(32) arch!: string;
  @IsString() @MaxLength(256) cpuModel!: string;
  @IsInt() @Min(1) @Max(65536) cpuCount!: number;
  @IsInt() @Min(0) memoryTotalBytes!: number;
  @IsInt() @Min(0) memoryFreeBytes!: number;
  @IsArray() @ArrayMaxSize(256) @ValidateNested({ each: true }) @Type(() => DiskFact) disks!: DiskFact[];
  @IsArray() @ArrayMaxSize(256) @ValidateNested({ each: true }) @Type(() => InterfaceFact) interfaces!: InterfaceFact[];
  @IsString() @MaxLength(64) agentVersion!: string;
}

/** agent.hello: sent after every connect. */
export class HelloPayload {
  @ValidateNested() @Type(() => HostFacts) facts!: HostFacts;
  @IsOptional() @IsString() @Length(16, 256) enrollmentToken?: string;
}

/** Ack of agent.hello and payload of host.status. */
export class HostStatusPayload {
  @IsUUID() hostId!: string;
  @IsIn(HOST_STATUSES) status!: HostStatus;
  @IsOptional() @IsString() @MaxLength(500) reason?: string;
}

/** agent.facts */
export class FactsPayload {
  @ValidateNested() @Type(() => HostFacts) facts!: HostFacts;
}

/** job.command: run `type` with `params` (validated by the agent with the command's params class). */
export class JobCommandPayload {
  @IsUUID() jobId!: string;
  @IsIn(COMMAND_NAMES as string[]) type!: CommandName;
  @IsObject() params!: Record<string, unknown>;
  @IsISO8601() deadline!: string;
}

export const COMMAND_ACK_STATES = ['accepted', 'duplicate', 'refused'] as const;
/** The agent's answer to job.command / job.cancel. */
export class CommandAck {
  @IsIn(COMMAND_ACK_STATES) state!: (typeof COMMAND_ACK_STATES)[number];
  @IsOptional() @IsString() @MaxLength(1000) reason?: string;
}

/** job.cancel */
export class JobCancelPayload {
  @IsUUID() jobId!: string;
}

/** job.progress: `seq` orders a job's events and makes re-sends idempotent. */
export class JobProgressPayload {
  @IsUUID() jobId!: string;
  @IsInt() @Min(0) seq!: number;
  @IsString() @MaxLength(128) step!: string;
  @IsString() @MaxLength(4000) message!: string;
  @IsOptional() @IsInt() @Min(0) @Max(100) percent?: number;
  @IsISO8601() at!: string;
}

/** `expired`: the job's deadline passed while it waited in the agent's own queue; nothing was run. */
export const JOB_RESULT_STATUSES = ['succeeded', 'failed', 'cancelled', 'expired'] as const;
export type JobResultStatus = (typeof JOB_RESULT_STATUSES)[number];
/** job.result: the one final outcome. `result` is validated per command by the server. */
export class JobResultPayload {
  @IsUUID() jobId!: string;
  @IsIn(JOB_RESULT_STATUSES) status!: JobResultStatus;
  @IsOptional() @IsObject() result?: Record<string, unknown>;
  @IsOptional() @IsString() @MaxLength(8000) error?: string;
  @IsOptional() @IsString() @MaxLength(128) failedStep?: string;
  @IsISO8601() finishedAt!: string;
}

/** The server's ack of job.progress / job.result: stored (or already stored), or refused with a reason. */
export class ServerAck {
  @IsBoolean() ok!: boolean;
  @IsOptional() @IsString() @MaxLength(1000) error?: string;
}
