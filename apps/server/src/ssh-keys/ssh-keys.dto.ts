import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import type { SshKeyEntity } from './ssh-keys.entity';

export class CreateSshKeyDto {
  @ApiProperty({ example: 'ops-laptop', description: 'Also the comment of a generated key' })
  @IsString() @Matches(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/, { message: 'name must be 1-64 letters, digits, "_", ".", "@" or "-", starting with a letter or digit' })
  name!: string;

  @ApiPropertyOptional({ description: 'Make a new Ed25519 pair; the private key is returned once in the 201 response, then kept only encrypted and never returned again' })
  @IsOptional() @IsBoolean() generate?: boolean;

  @ApiPropertyOptional({ example: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... me@laptop', description: 'Import a public key (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256)' })
  @IsOptional() @IsString() @MaxLength(16384) publicKey?: string;
}

export class SshKeyDto {
  @ApiProperty() id!: string;
  @ApiProperty() name!: string;
  @ApiProperty() publicKey!: string;
  @ApiProperty() fingerprint!: string;
  @ApiProperty({ description: 'True when the server made the pair (and holds the encrypted private key)' }) generated!: boolean;
  @ApiProperty() createdBy!: string;
  @ApiProperty() createdAt!: string;
}

export function toSshKeyDto(k: SshKeyEntity): SshKeyDto {
  return {
    id: k.id, name: k.name, publicKey: k.publicKey, fingerprint: k.fingerprint, generated: k.privateKeyEncrypted !== null,
    createdBy: k.createdBy, createdAt: new Date(k.createdAt).toISOString(),
  };
}

/** The 201 answer of POST /api/ssh-keys: a generated pair's private key is in it, the only time it is shown. */
export class CreatedSshKeyDto extends SshKeyDto {
  @ApiPropertyOptional({ description: 'OpenSSH private key of a generated pair (save it as e.g. ~/.ssh/id_ed25519, mode 0600); only in this response, absent for imported keys' })
  privateKey?: string;
}

export function toCreatedSshKeyDto(k: SshKeyEntity, privateKey: string | null): CreatedSshKeyDto {
  return { ...toSshKeyDto(k), ...(privateKey !== null && { privateKey }) };
}
