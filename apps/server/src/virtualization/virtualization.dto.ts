import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { HYPERVISOR_TYPES, HypervisorType, INTERFACE_PATTERN, NETWORK_MODES, NetworkMode } from '@sysfleet/protocol';
import { IsBoolean, IsIn, IsOptional, IsString, IsUUID, Matches } from 'class-validator';
import type { HostVirtualizationEntity } from './virtualization.entity';

export class HostTypeParamsDto {
  @IsUUID() id!: string;
  @IsIn(HYPERVISOR_TYPES) type!: HypervisorType;
}

export class ConfigureNetworkDto {
  @ApiProperty({ enum: NETWORK_MODES }) @IsIn(NETWORK_MODES) mode!: NetworkMode;
  @ApiPropertyOptional() @IsOptional() @IsString() @Matches(INTERFACE_PATTERN, { message: 'interface must be a network interface name' }) interface?: string;
  @ApiPropertyOptional({ example: '192.168.122.0/24' }) @IsOptional() @Matches(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, { message: 'subnet must be an IPv4 CIDR' }) subnet?: string;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() remove?: boolean;
}

/** Network modes per hypervisor; the agent checks again, this refuses early with a clear message. */
export const NETWORK_MODES_BY_TYPE: Record<HypervisorType, readonly NetworkMode[]> = {
  kvm: ['nat', 'bridge'],
  vmm: ['local', 'bridged', 'routed'],
  wsl: ['nat'],
};

export function toVirtualizationDto(v: HostVirtualizationEntity): Record<string, unknown> {
  return { ...v.report, checkedAt: v.checkedAt.toISOString() };
}
