import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CHILD_TYPES, ChildNetwork, ChildType, HOSTNAME_PATTERN, NAME_PATTERN, USERNAME_PATTERN } from '@sysfleet/protocol';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min, MinLength, ValidateNested,
} from 'class-validator';
import { CHILD_STATES, ChildState } from './child-hosts.entity';
import type { ChildRow } from './child-hosts.repository';
import type { ChildRoom } from './child-hosts.service';

export class CreateChildDto {
  @ApiProperty({ enum: CHILD_TYPES }) @IsIn(CHILD_TYPES) childType!: ChildType;
  @ApiProperty() @IsUUID() distributionId!: string;
  @ApiProperty({ example: 'web1' }) @IsString() @Matches(NAME_PATTERN, { message: 'name must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit' }) name!: string;
  @ApiProperty({ example: 'web1.lab.example' }) @IsString() @Matches(HOSTNAME_PATTERN, { message: 'hostname must be a valid host name' }) hostname!: string;
  @ApiProperty() @IsInt() @Min(1) @Max(256) vcpus!: number;
  @ApiProperty() @IsInt() @Min(128) @Max(4 * 1024 * 1024) memoryMb!: number;
  @ApiProperty() @IsInt() @Min(1) @Max(65536) diskGb!: number;
  @ApiProperty({ example: 'ops' }) @IsString() @Matches(USERNAME_PATTERN, { message: 'username must be a lowercase Unix user name (up to 32 characters)' }) username!: string;
  @ApiPropertyOptional({ description: 'Hashed (SHA-512 crypt) on the server; never stored or logged in plain text' })
  @IsOptional() @IsString() @MinLength(8) @MaxLength(256) password?: string;
  @ApiPropertyOptional({ type: [String], description: 'OpenSSH public key lines' })
  @IsOptional() @IsArray() @ArrayMaxSize(16) @IsString({ each: true }) @MaxLength(16384, { each: true }) sshPublicKeys?: string[];
  @ApiPropertyOptional({ type: [String], description: 'Ids of stored SSH keys (/api/ssh-keys)' })
  @IsOptional() @IsArray() @ArrayMaxSize(16) @IsUUID('all', { each: true }) sshKeyIds?: string[];
  @ApiPropertyOptional({ type: ChildNetwork }) @IsOptional() @ValidateNested() @Type(() => ChildNetwork) network?: ChildNetwork;
  @ApiPropertyOptional({ description: 'Keep the disk, domain and seed of a failed create for debugging' }) @IsOptional() @IsBoolean() keepOnFailure?: boolean;
}

export class ChildParamsDto {
  @IsUUID() id!: string;
  @IsUUID() childId!: string;
}

export class StopChildDto {
  @ApiPropertyOptional({ description: 'Power off at once instead of a clean shutdown' }) @IsOptional() @IsBoolean() force?: boolean;
}

const toBoolean = ({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value);

export class DeleteChildQueryDto {
  @ApiPropertyOptional({ description: 'Remove the VM disks too' }) @IsOptional() @Transform(toBoolean) @IsBoolean() deleteDisk?: boolean;
}

export class ChildCapacityQueryDto {
  @ApiProperty({ enum: CHILD_TYPES }) @IsIn(CHILD_TYPES) childType!: ChildType;
}

/** What a create of childType may take on the host right now: the same numbers the create check uses. */
export class ChildCapacityDto {
  @ApiProperty({ enum: CHILD_TYPES }) childType!: ChildType;
  @ApiProperty({ description: 'Largest memoryMb a create is allowed now: free memory − reserve − what creates under way claim (≥ 0)' }) availableMemoryMb!: number;
  @ApiProperty({ description: 'Largest diskGb a create is allowed now, on the disk holding the VM store (else the largest): free − reserve − claimed (≥ 0)' }) availableDiskGb!: number;
  @ApiProperty({ description: 'CHILD_RESERVE_MEMORY_MB' }) reserveMemoryMb!: number;
  @ApiProperty({ description: 'CHILD_RESERVE_DISK_GB' }) reserveDiskGb!: number;
}

export function toChildCapacityDto(childType: ChildType, room: ChildRoom & { availableDiskGb: number }): ChildCapacityDto {
  return { childType, availableMemoryMb: room.availableMemoryMb, availableDiskGb: room.availableDiskGb, reserveMemoryMb: room.reserveMb, reserveDiskGb: room.reserveGb };
}

export class ChildSearchQueryDto {
  @IsOptional() @IsIn(CHILD_STATES) state?: ChildState;
  @IsOptional() @IsIn(CHILD_TYPES) childType?: ChildType;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit = 50;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) offset = 0;
}

export class ChildDto {
  @ApiProperty() id!: string;
  @ApiProperty() hostId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: CHILD_TYPES }) childType!: ChildType;
  @ApiPropertyOptional({ nullable: true }) distributionId!: string | null;
  @ApiProperty() hostname!: string;
  @ApiProperty({ enum: CHILD_STATES }) state!: ChildState;
  @ApiPropertyOptional({ nullable: true }) ip!: string | null;
  @ApiProperty() vcpus!: number;
  @ApiProperty() memoryMb!: number;
  @ApiProperty() diskGb!: number;
  @ApiProperty() username!: string;
  @ApiPropertyOptional({ nullable: true, description: 'The enrolled child host (GET /api/hosts/:childHostId)' }) childHostId!: string | null;
  @ApiPropertyOptional({ nullable: true }) childHostStatus!: string | null;
  @ApiPropertyOptional({ nullable: true }) childHostOnline!: boolean | null;
  @ApiPropertyOptional({ nullable: true }) createJobId!: string | null;
  @ApiPropertyOptional({ nullable: true }) deleteJobId!: string | null;
  @ApiPropertyOptional({ nullable: true }) error!: string | null;
  @ApiProperty() createdBy!: string;
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;
  @ApiPropertyOptional({ nullable: true }) lastSeenAt!: string | null;
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

export function toChildDto(c: ChildRow): ChildDto {
  return {
    id: c.id, hostId: c.hostId, name: c.name, childType: c.childType, distributionId: c.distributionId, hostname: c.hostname, state: c.state,
    ip: c.ip, vcpus: c.vcpus, memoryMb: c.memoryMb, diskGb: c.diskGb, username: c.username, childHostId: c.childHostId,
    childHostStatus: c.childHostStatus ?? null, childHostOnline: c.childHostOnline ?? null, createJobId: c.createJobId, deleteJobId: c.deleteJobId,
    error: c.error, createdBy: c.createdBy, createdAt: iso(c.createdAt)!, updatedAt: iso(c.updatedAt)!, lastSeenAt: iso(c.lastSeenAt),
  };
}
