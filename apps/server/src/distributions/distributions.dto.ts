import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CHILD_TYPES, ChildType, Firmware, FIRMWARE_TYPES, MAX_INSTALL_COMMAND_LENGTH, MAX_INSTALL_COMMANDS, NAME_PATTERN, SHA256_HEX_PATTERN, unknownPlaceholders } from '@sysfleet/protocol';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength, Validate,
  ValidationArguments, ValidatorConstraint, ValidatorConstraintInterface,
} from 'class-validator';
import type { DistributionEntity } from './distributions.entity';

const URL_PATTERN = /^https?:\/\/[^\s"'`\\]+$/;
const URL_MESSAGE = 'must be an http:// or https:// URL without spaces or quotes';
const IDENTIFIER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

/** Why the install commands do not fit the rest of the entry, or null: appliances carry none, others need some; only known placeholders. */
function installCommandsProblem(d: Partial<CreateDistributionDto>): string | null {
  const commands = d.installCommands;
  if (!Array.isArray(commands)) return null; // IsArray reports it
  if (d.appliance === true && commands.length > 0) return 'must be empty for an appliance (it is imported as it is)';
  if (d.appliance !== true && commands.length === 0) return 'must hold the commands that install the agent (or set appliance)';
  for (const [i, c] of commands.entries()) {
    if (typeof c !== 'string') continue;
    if (c.trim() === '') return `command ${i + 1} is blank`;
    const unknown = unknownPlaceholders(c);
    if (unknown.length) return `command ${i + 1} uses unknown placeholder(s) ${unknown.map((u) => `{{${u}}}`).join(', ')}`;
  }
  return null;
}

@ValidatorConstraint({ name: 'installCommandsFit' })
class InstallCommandsFit implements ValidatorConstraintInterface {
  validate(_: unknown, args: ValidationArguments): boolean {
    return installCommandsProblem(args.object as Partial<CreateDistributionDto>) === null;
  }

  defaultMessage(args: ValidationArguments): string {
    return `installCommands ${installCommandsProblem(args.object as Partial<CreateDistributionDto>)}`;
  }
}

/** Where the guest comes from: kvm and vmm need an image; WSL installs by its identifier. Checked on childType, which is always present. */
@ValidatorConstraint({ name: 'imageFits' })
class ImageFits implements ValidatorConstraintInterface {
  validate(childType: unknown, args: ValidationArguments): boolean {
    const imageUrl = (args.object as Partial<CreateDistributionDto>).imageUrl;
    return childType === 'wsl' || (typeof imageUrl === 'string' && imageUrl.length > 0);
  }

  defaultMessage(): string {
    return 'imageUrl is required for kvm and vmm distributions';
  }
}

/** UEFI (OVMF) is set up by the KVM agent only: vmd boots its guests with SeaBIOS, WSL has no firmware to choose. */
@ValidatorConstraint({ name: 'firmwareFits' })
class FirmwareFits implements ValidatorConstraintInterface {
  validate(firmware: unknown, args: ValidationArguments): boolean {
    return firmware !== 'uefi' || (args.object as Partial<CreateDistributionDto>).childType === 'kvm';
  }

  defaultMessage(): string {
    return 'firmware uefi is only available for kvm distributions (vmd and WSL boot bios)';
  }
}

export class CreateDistributionDto {
  @ApiProperty({ enum: CHILD_TYPES }) @IsIn(CHILD_TYPES) @Validate(ImageFits) childType!: ChildType;
  @ApiProperty({ example: 'ubuntu' }) @IsString() @Matches(NAME_PATTERN, { message: 'name must be letters, digits, ".", "_" or "-" (up to 63), starting with a letter or digit' }) name!: string;
  @ApiProperty({ example: '24.04' }) @IsString() @MinLength(1) @MaxLength(64) @Matches(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, { message: 'version must be letters, digits, ".", "_" or "-"' }) version!: string;
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(200) displayName!: string;
  @ApiProperty({ example: 'Ubuntu-24.04', description: 'WSL: the `wsl --install -d` name; kvm: the osinfo name' })
  @IsString() @MinLength(1) @MaxLength(128) @Matches(IDENTIFIER_PATTERN, { message: 'installIdentifier must be letters, digits, "_", ".", ":" or "-"' }) installIdentifier!: string;
  @ApiPropertyOptional({ nullable: true }) @IsOptional() @IsString() @MaxLength(2048) @Matches(URL_PATTERN, { message: `imageUrl ${URL_MESSAGE}` }) imageUrl?: string | null;
  @ApiPropertyOptional({ nullable: true, description: 'SHA-256 of the image file as downloaded (64 lowercase hex digits)' })
  @IsOptional() @IsString() @Matches(SHA256_HEX_PATTERN, { message: 'sha256 must be 64 lowercase hex digits' }) sha256?: string | null;
  @ApiPropertyOptional({ nullable: true, description: 'Checksum list (SHA256SUMS, SHA512SUMS, BSD SHA256) used when sha256 is not pinned' })
  @IsOptional() @IsString() @MaxLength(2048) @Matches(URL_PATTERN, { message: `checksumUrl ${URL_MESSAGE}` }) checksumUrl?: string | null;
  @ApiProperty() @IsInt() @Min(1) @Max(256) defaultVcpus!: number;
  @ApiProperty() @IsInt() @Min(128) @Max(4 * 1024 * 1024) defaultMemoryMb!: number;
  @ApiProperty() @IsInt() @Min(1) @Max(65536) defaultDiskGb!: number;
  @ApiProperty({ type: [String], description: `Up to ${MAX_INSTALL_COMMANDS} sh command templates run as root in the guest` })
  @IsArray() @ArrayMaxSize(MAX_INSTALL_COMMANDS) @IsString({ each: true }) @MinLength(1, { each: true }) @MaxLength(MAX_INSTALL_COMMAND_LENGTH, { each: true })
  @Matches(/^[^\0]+$/, { each: true, message: 'installCommands must not contain NUL characters' }) @Validate(InstallCommandsFit)
  installCommands!: string[];
  @ApiProperty() @IsBoolean() appliance!: boolean;
  @ApiPropertyOptional({ enum: FIRMWARE_TYPES, default: 'bios', description: 'bios (SeaBIOS, cloud images) or uefi (OVMF; kvm only, e.g. Home Assistant OS)' })
  @IsOptional() @IsIn(FIRMWARE_TYPES) @Validate(FirmwareFits) firmware?: Firmware;
  @ApiPropertyOptional({ default: true }) @IsOptional() @IsBoolean() enabled?: boolean;
  @ApiPropertyOptional({ nullable: true }) @IsOptional() @IsString() @MaxLength(2000) notes?: string | null;
}

/** Any subset of the fields; the merged result must pass CreateDistributionDto again. */
export class UpdateDistributionDto {
  @ApiPropertyOptional({ enum: CHILD_TYPES }) @IsOptional() @IsIn(CHILD_TYPES) childType?: ChildType;
  @ApiPropertyOptional() @IsOptional() @IsString() name?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() version?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() displayName?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() installIdentifier?: string;
  @ApiPropertyOptional({ nullable: true }) @IsOptional() @IsString() imageUrl?: string | null;
  @ApiPropertyOptional({ nullable: true }) @IsOptional() @IsString() sha256?: string | null;
  @ApiPropertyOptional({ nullable: true }) @IsOptional() @IsString() checksumUrl?: string | null;
  @ApiPropertyOptional() @IsOptional() @IsInt() defaultVcpus?: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() defaultMemoryMb?: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() defaultDiskGb?: number;
  @ApiPropertyOptional({ type: [String] }) @IsOptional() @IsArray() installCommands?: string[];
  @ApiPropertyOptional() @IsOptional() @IsBoolean() appliance?: boolean;
  @ApiPropertyOptional({ enum: FIRMWARE_TYPES }) @IsOptional() @IsIn(FIRMWARE_TYPES) firmware?: Firmware;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() enabled?: boolean;
  @ApiPropertyOptional({ nullable: true }) @IsOptional() @IsString() notes?: string | null;
}

const toBoolean = ({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value);

export class ListDistributionsQueryDto {
  @IsOptional() @IsIn(CHILD_TYPES) childType?: ChildType;
  @IsOptional() @Transform(toBoolean) @IsBoolean() enabled?: boolean;
}

export class DistributionDto {
  @ApiProperty() id!: string;
  @ApiProperty({ enum: CHILD_TYPES }) childType!: ChildType;
  @ApiProperty() name!: string;
  @ApiProperty() version!: string;
  @ApiProperty() displayName!: string;
  @ApiProperty() installIdentifier!: string;
  @ApiPropertyOptional({ nullable: true }) imageUrl!: string | null;
  @ApiPropertyOptional({ nullable: true }) sha256!: string | null;
  @ApiPropertyOptional({ nullable: true }) checksumUrl!: string | null;
  @ApiProperty() defaultVcpus!: number;
  @ApiProperty() defaultMemoryMb!: number;
  @ApiProperty() defaultDiskGb!: number;
  @ApiProperty({ type: [String] }) installCommands!: string[];
  @ApiProperty() appliance!: boolean;
  @ApiProperty({ enum: FIRMWARE_TYPES }) firmware!: Firmware;
  @ApiProperty() enabled!: boolean;
  @ApiPropertyOptional({ nullable: true }) notes!: string | null;
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;
}

export function toDistributionDto(d: DistributionEntity): DistributionDto {
  return {
    id: d.id, childType: d.childType, name: d.name, version: d.version, displayName: d.displayName, installIdentifier: d.installIdentifier,
    imageUrl: d.imageUrl, sha256: d.sha256, checksumUrl: d.checksumUrl, defaultVcpus: d.defaultVcpus, defaultMemoryMb: d.defaultMemoryMb,
    defaultDiskGb: d.defaultDiskGb, installCommands: d.installCommands, appliance: d.appliance, firmware: d.firmware, enabled: d.enabled, notes: d.notes,
    createdAt: new Date(d.createdAt).toISOString(), updatedAt: new Date(d.updatedAt).toISOString(),
  };
}
